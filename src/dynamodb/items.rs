//! Reads the items of DynamoDB's answers (`Query`, `Scan`, `GetItem`): the string attributes
//! the caller names, borrowed from the answer's text where they hold no escape.
//!
//! A month page's `Query` answer holds 50 items of five attributes, each `{"S": "…"}`. Read by
//! serde_json into typed structs, it took 219k of a DynamoDB month page's 741k instructions
//! (callgrind), going through serde's generic map walk for each of its 750 strings; read here,
//! 125k. This reader knows the shape of an answer, reads the usual `{"S": "…"}` straight, and
//! looks for a string's end eight bytes at a time. It refuses the text serde_json refuses
//! (numbers at the very ends of a float's range aside, where serde_json's rounding is its
//! own), and reads what both accept alike, which its tests check on generated answers and on
//! changed ones. What else the store reads (an error's details, a `LastEvaluatedKey` to send
//! back) stays serde's.

use std::borrow::Cow;
use std::fmt;

/// The string values of the attributes named by the caller, in the order named; `None` for an
/// attribute the item lacks or holds with another type (`{"N": "1"}`), as if it were missing.
pub type Strings<'a, const N: usize> = [Option<Cow<'a, str>>; N];

/// What a `Query` or `Scan` answer holds.
#[derive(Debug)]
pub struct Items<'a, const N: usize> {
    pub items: Vec<Strings<'a, N>>,
    /// Where the next page starts, as the answer's JSON (none when this is the last page).
    pub last_evaluated_key: Option<&'a str>,
}

/// Text that is not an answer of the expected shape, and where it goes wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct Error {
    what: &'static str,
    at: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for Error {}

type Result<T> = std::result::Result<T, Error>;

/// The items of a `Query` or `Scan` answer, `{"Items": [...], "LastEvaluatedKey": {...}}`.
pub fn items<'a, const N: usize>(answer: &'a str, names: &[&str; N]) -> Result<Items<'a, N>> {
    let mut reader = Reader::new(answer);
    let mut read = Items {
        items: Vec::new(),
        last_evaluated_key: None,
    };
    reader.object(|reader, key| match &*key {
        "Items" => {
            // A name given twice counts the last time, as in serde_json's maps (when each
            // time holds an array: the reader refuses a value of the wrong type wherever it is).
            read.items.clear();
            reader.array(|reader| {
                read.items.push(reader.item(names)?);
                Ok(())
            })
        }
        "LastEvaluatedKey" => {
            read.last_evaluated_key = Some(reader.value_text()?).filter(|key| *key != "null");
            Ok(())
        }
        _ => reader.skip(),
    })?;
    reader.end()?;
    Ok(read)
}

/// The item of a `GetItem` answer, `{"Item": {...}}`, or `{}` when there is none.
pub fn item<'a, const N: usize>(
    answer: &'a str,
    names: &[&str; N],
) -> Result<Option<Strings<'a, N>>> {
    let mut reader = Reader::new(answer);
    let mut read = None;
    reader.object(|reader, key| match &*key {
        "Item" if reader.peek() == Some(b'n') => {
            read = None;
            reader.skip()
        }
        "Item" => {
            read = Some(reader.item(names)?);
            Ok(())
        }
        _ => reader.skip(),
    })?;
    reader.end()?;
    Ok(read)
}

/// The characters around an object's members or an array's elements, and what an error says
/// where they are missing.
struct Delimiters {
    open: u8,
    close: u8,
    missing: &'static str,
    after_one: &'static str,
}

const OBJECT: Delimiters = Delimiters {
    open: b'{',
    close: b'}',
    missing: "expected an object",
    after_one: "expected ',' or '}'",
};

const ARRAY: Delimiters = Delimiters {
    open: b'[',
    close: b']',
    missing: "expected an array",
    after_one: "expected ',' or ']'",
};

/// Whether `byte` goes into a string as it is: not a quote, a backslash or a control character
/// (which JSON does not allow in a string).
fn is_plain(byte: u8) -> bool {
    byte != b'"' && byte != b'\\' && byte >= 0x20
}

/// Arrays and objects nested this deep are refused, as serde_json refuses them (its recursion
/// limit): the reader recurses too, and its stack must not run out on hostile nesting.
const MAX_DEPTH: usize = 128;

/// A position in JSON text. Positions only ever stop at ASCII characters, so every slice taken
/// between two of them is whole UTF-8.
struct Reader<'a> {
    text: &'a str,
    at: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            at: 0,
            depth: 0,
        }
    }

    fn fail<T>(&self, what: &'static str) -> Result<T> {
        Err(Error { what, at: self.at })
    }

    /// The next byte that is not white space, not consumed.
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.at) {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(byte);
            }
            self.at += 1;
        }
        None
    }

    fn eat(&mut self, byte: u8, what: &'static str) -> Result<()> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            self.fail(what)
        }
    }

    fn end(&mut self) -> Result<()> {
        match self.peek() {
            Some(_) => self.fail("text after the answer"),
            None => Ok(()),
        }
    }

    /// An object, each of its keys handed to `field`, which must read the key's value.
    fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, Cow<'a, str>) -> Result<()>,
    ) -> Result<()> {
        self.sequence(&OBJECT, |reader| {
            let key = reader.string()?;
            reader.eat(b':', "expected ':'")?;
            field(reader, key)
        })
    }

    /// An array, `element` reading each of its values.
    fn array(&mut self, element: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.sequence(&ARRAY, element)
    }

    /// What `delimiters` enclose, separated by commas, each read by `each`.
    fn sequence(
        &mut self,
        delimiters: &Delimiters,
        mut each: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        self.eat(delimiters.open, delimiters.missing)?;
        self.nested(|reader| {
            if reader.peek() == Some(delimiters.close) {
                reader.at += 1;
                return Ok(());
            }
            loop {
                each(reader)?;
                match reader.peek() {
                    Some(b',') => reader.at += 1,
                    Some(byte) if byte == delimiters.close => {
                        reader.at += 1;
                        return Ok(());
                    }
                    _ => return reader.fail(delimiters.after_one),
                }
            }
        })
    }

    fn nested(&mut self, read: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        if self.depth + 1 == MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        self.depth += 1;
        let read = read(self);
        self.depth -= 1;
        read
    }

    /// An item: a map of attribute names to values, of which the string values of `names`
    /// are kept.
    fn item<const N: usize>(&mut self, names: &[&str; N]) -> Result<Strings<'a, N>> {
        let mut found = [const { None }; N];
        self.object(
            |reader, name| match names.iter().position(|n| **n == *name) {
                Some(i) => {
                    found[i] = reader.string_value()?;
                    Ok(())
                }
                None => reader.skip(),
            },
        )?;
        Ok(found)
    }

    /// An attribute value, `{"S": "…"}` for a string; `None` for one of another type.
    fn string_value(&mut self) -> Result<Option<Cow<'a, str>>> {
        // The usual shape, read straight: the general loop below costs more than the string.
        let start = self.at;
        if self.peek() == Some(b'{') {
            self.at += 1;
            if self.peek() == Some(b'"') && self.text.as_bytes()[self.at..].starts_with(b"\"S\"") {
                self.at += 3;
                self.eat(b':', "expected ':'")?;
                let value = self.string()?;
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Some(value));
                }
            }
        }
        self.at = start;
        let mut value = None;
        self.object(|reader, key| {
            if key == "S" {
                value = Some(reader.string()?);
                Ok(())
            } else {
                reader.skip()
            }
        })?;
        Ok(value)
    }

    /// A string, borrowed unless it holds an escape.
    fn string(&mut self) -> Result<Cow<'a, str>> {
        self.eat(b'"', "expected a string")?;
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut end = start;
        // Eight bytes at a time, looking for the first byte that is not plain ([`is_plain`]),
        // with a test for each kind. Each test marks the high bit of the bytes that match;
        // bytes of 0x80 and above never match, and the lowest mark is always exact, which is
        // the one taken.
        const ONES: u64 = u64::from_ne_bytes([1; 8]);
        const HIGHS: u64 = ONES << 7;
        let zero_bytes = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
        while let Some(chunk) = bytes.get(end..end + 8) {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            let found = zero_bytes(word ^ (ONES * u64::from(b'"')))
                | zero_bytes(word ^ (ONES * u64::from(b'\\')))
                | (word.wrapping_sub(ONES * 0x20) & !word & HIGHS);
            if found != 0 {
                end += found.trailing_zeros() as usize / 8;
                return self.string_from(start, end);
            }
            end += 8;
        }
        while bytes.get(end).is_some_and(|&b| is_plain(b)) {
            end += 1;
        }
        self.string_from(start, end)
    }

    /// The string starting at `start` whose plain run ends at `end`.
    fn string_from(&mut self, start: usize, end: usize) -> Result<Cow<'a, str>> {
        self.at = end;
        match self.text.as_bytes().get(end) {
            Some(b'"') => {
                self.at += 1;
                Ok(Cow::Borrowed(&self.text[start..end]))
            }
            Some(b'\\') => self.escaped_string(start).map(Cow::Owned),
            Some(_) => self.fail("control character in a string"),
            None => self.fail("unterminated string"),
        }
    }

    /// The rest of a string that holds an escape, from its start; the reader is at the first
    /// backslash.
    #[cold]
    fn escaped_string(&mut self, start: usize) -> Result<String> {
        let bytes = self.text.as_bytes();
        let mut string = String::from(&self.text[start..self.at]);
        loop {
            match bytes.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(string);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = match bytes.get(self.at) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return self.fail("invalid escape"),
                    };
                    // Past the escape's last character (`unicode_escape` stops on it too).
                    self.at += 1;
                    string.push(escaped);
                }
                Some(0..0x20) => return self.fail("control character in a string"),
                Some(_) => {
                    let run = self.at;
                    while bytes.get(self.at).is_some_and(|&b| is_plain(b)) {
                        self.at += 1;
                    }
                    string.push_str(&self.text[run..self.at]);
                }
                None => return self.fail("unterminated string"),
            }
        }
    }

    /// The character of a `\uXXXX` escape, or of two that make a surrogate pair; the reader
    /// is at the `u` and stops on the escape's last digit.
    fn unicode_escape(&mut self) -> Result<char> {
        let high = self.hex4()?;
        let code = match high {
            0xD800..=0xDBFF => {
                if !self.text.as_bytes()[self.at + 1..].starts_with(b"\\u") {
                    return self.fail("lone surrogate in a \\u escape");
                }
                self.at += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return self.fail("lone surrogate in a \\u escape");
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => return self.fail("lone surrogate in a \\u escape"),
            _ => high,
        };
        char::from_u32(code).map_or_else(|| self.fail("invalid \\u escape"), Ok)
    }

    /// The four hex digits after the `u` the reader is at; it stops on the last of them.
    fn hex4(&mut self) -> Result<u32> {
        let digits = self.text.as_bytes().get(self.at + 1..self.at + 5);
        let Some(digits) = digits.filter(|d| d.iter().all(u8::is_ascii_hexdigit)) else {
            return self.fail("invalid \\u escape");
        };
        self.at += 4;
        Ok(digits.iter().fold(0, |value, &digit| {
            value << 4 | char::from(digit).to_digit(16).unwrap_or_default()
        }))
    }

    /// Steps over the next value, whatever it is, checking that it is JSON.
    fn skip(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'{') => self.object(|reader, _| reader.skip()),
            Some(b'[') => self.array(Self::skip),
            Some(b'"') => self.string().map(drop),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.fail("expected a value"),
        }
    }

    /// The next value's JSON text, stepped over.
    fn value_text(&mut self) -> Result<&'a str> {
        self.peek();
        let start = self.at;
        self.skip()?;
        Ok(&self.text[start..self.at])
    }

    fn literal(&mut self, word: &str) -> Result<()> {
        if self.text.as_bytes()[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(())
        } else {
            self.fail("expected a value")
        }
    }

    /// A number as JSON writes one: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<()> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let digits = |reader: &mut Self| {
            let start = reader.at;
            while bytes.get(reader.at).is_some_and(u8::is_ascii_digit) {
                reader.at += 1;
            }
            reader.at > start
        };
        if bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        if bytes.get(self.at) == Some(&b'0') {
            self.at += 1;
        } else if !digits(self) {
            return self.fail("invalid number");
        }
        if bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if !digits(self) {
                return self.fail("invalid number");
            }
        }
        if matches!(bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !digits(self) {
                return self.fail("invalid number");
            }
        }
        // Like serde_json, which reads every number: one too large for a float is refused.
        match self.text[start..self.at].parse::<f64>() {
            Ok(number) if number.is_finite() => Ok(()),
            _ => self.fail("number out of range"),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    const NAMES: [&str; 3] = ["id", "user_name", "S"];

    /// An answer's items (the values of `NAMES`) and its `LastEvaluatedKey`, owned.
    type Read = (Vec<Vec<Option<String>>>, Option<Value>);

    /// What `answer`, as serde_json's `Value` reads it, holds: the string values of `NAMES` per
    /// item, and the `LastEvaluatedKey`. `None` for JSON of another shape, which the reader
    /// refuses.
    fn expected(answer: &Value) -> Option<Read> {
        let answer = answer.as_object()?;
        let items = match answer.get("Items") {
            None => Vec::new(),
            Some(items) => items
                .as_array()?
                .iter()
                .map(|item| {
                    let item = item.as_object()?;
                    NAMES
                        .iter()
                        .map(|name| match item.get(*name) {
                            None => Some(None),
                            Some(value) => match value.as_object()?.get("S") {
                                None => Some(None),
                                Some(s) => Some(Some(s.as_str()?.to_owned())),
                            },
                        })
                        .collect()
                })
                .collect::<Option<_>>()?,
        };
        let key = answer.get("LastEvaluatedKey").filter(|k| !k.is_null());
        Some((items, key.cloned()))
    }

    fn read(answer: &str) -> Result<Read> {
        let read = items(answer, &NAMES)?;
        let items = read
            .items
            .into_iter()
            .map(|item| item.into_iter().map(|s| s.map(Cow::into_owned)).collect())
            .collect();
        let key = read
            .last_evaluated_key
            .map(|key| serde_json::from_str(key).expect("the key's text is JSON"));
        Ok((items, key))
    }

    /// Strings with what JSON must escape, and what it need not.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[a-zA-Z0-9 #:-]{0,30}",
            1 => "\\PC{0,12}",
            1 => proptest::collection::vec(
                prop_oneof![Just("\""), Just("\\"), Just("/"), Just("\u{0}"), Just("\u{8}"),
                    Just("\u{c}"), Just("\n"), Just("\r"), Just("\t"), Just("\u{1f}"),
                    Just("\u{7f}"), Just("é"), Just("😀"), Just("\u{2028}"), Just("a")],
                0..8,
            ).prop_map(|parts| parts.concat()),
        ]
    }

    /// Any JSON value, a few levels deep.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            // Not near the ends of a float's range: how serde_json rounds there is its own.
            (-1e6..1e6f64).prop_map(Value::from),
            text().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(text(), inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// An attribute value: mostly a string, else another type, or a string with more beside it.
    fn attribute() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => text().prop_map(|s| json!({"S": s})),
            1 => value().prop_map(|v| json!({"N": "1", "L": [v]})),
            1 => (text(), value()).prop_map(|(s, v)| json!({"M": v, "S": s})),
            // A key after "S" (they are written in order), so that the reader goes back from
            // its straight read of `{"S": "…"}` to the general one.
            1 => (text(), value()).prop_map(|(s, v)| json!({"S": s, "SS": [v]})),
            1 => Just(json!({})),
        ]
    }

    fn an_item() -> impl Strategy<Value = Value> {
        let name = prop_oneof![
            Just("id".to_owned()),
            Just("user_name".to_owned()),
            Just("S".to_owned()),
            text()
        ];
        proptest::collection::btree_map(name, attribute(), 0..6)
            .prop_map(|item| Value::Object(item.into_iter().collect()))
    }

    fn answer() -> impl Strategy<Value = Value> {
        (
            proptest::option::of(proptest::collection::vec(an_item(), 0..5)),
            proptest::option::of(prop_oneof![Just(Value::Null), an_item()]),
            value(),
        )
            .prop_map(|(items, key, other)| {
                let mut answer = json!({"Count": 3, "ConsumedCapacity": other});
                if let Some(items) = items {
                    answer["Items"] = Value::from(items);
                }
                if let Some(key) = key {
                    answer["LastEvaluatedKey"] = key;
                }
                answer
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn answers_read_as_serde_json_reads_them(answer in answer(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&answer).unwrap()
            } else {
                answer.to_string()
            };
            // What serde_json reads back, not `answer`: it reads some floats back a bit off.
            let parsed: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(read(&text).ok(), expected(&parsed), "{}", text);
        }

        /// A character taken out, put in or changed leaves text that is JSON or not: the
        /// reader refuses all that serde_json refuses, never panics, and reads JSON as serde_json
        /// does. Where an object names a key twice, serde_json keeps the last value and the
        /// reader refuses a value of the wrong type in any of them: there the two need only
        /// agree where both accept.
        #[test]
        fn changed_answers_read_as_serde_json_reads_them_or_are_refused(
            answer in answer(),
            at in any::<prop::sample::Index>(),
            change in prop_oneof![
                Just(None),
                "[{}\\[\\]\",:\\\\ 0-9a-zA-Z.eE+\\-\u{0}\u{e9}]".prop_map(Some),
            ],
            replace in any::<bool>(),
        ) {
            let mut chars: Vec<char> = answer.to_string().chars().collect();
            let at = at.index(chars.len());
            match (change, replace) {
                (None, _) => drop(chars.remove(at)),
                (Some(c), true) => chars[at] = c.chars().next().unwrap(),
                (Some(c), false) => chars.insert(at, c.chars().next().unwrap()),
            }
            let text: String = chars.into_iter().collect();
            match serde_json::from_str::<Value>(&text) {
                Err(_) => prop_assert!(read(&text).is_err(), "{}", text),
                Ok(parsed) if serde_json::from_str::<KeysOnce>(&text).is_ok() => {
                    prop_assert_eq!(read(&text).ok(), expected(&parsed), "{}", text);
                }
                Ok(parsed) => {
                    if let Ok(read) = read(&text) {
                        prop_assert_eq!(Some(read), expected(&parsed), "{}", text);
                    }
                }
            }
        }
    }

    /// JSON whose objects name each key once: reading it fails on a key named twice.
    struct KeysOnce;

    impl<'de> serde::Deserialize<'de> for KeysOnce {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            d.deserialize_any(KeysOnce)
        }
    }

    impl<'de> serde::de::Visitor<'de> for KeysOnce {
        type Value = KeysOnce;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("JSON")
        }

        fn visit_bool<E>(self, _: bool) -> std::result::Result<Self, E> {
            Ok(self)
        }

        fn visit_i64<E>(self, _: i64) -> std::result::Result<Self, E> {
            Ok(self)
        }

        fn visit_u64<E>(self, _: u64) -> std::result::Result<Self, E> {
            Ok(self)
        }

        fn visit_f64<E>(self, _: f64) -> std::result::Result<Self, E> {
            Ok(self)
        }

        fn visit_str<E>(self, _: &str) -> std::result::Result<Self, E> {
            Ok(self)
        }

        fn visit_unit<E>(self) -> std::result::Result<Self, E> {
            Ok(self)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Self, A::Error> {
            while seq.next_element::<KeysOnce>()?.is_some() {}
            Ok(self)
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self, A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key) {
                    return Err(serde::de::Error::custom("a key named twice"));
                }
                map.next_value::<KeysOnce>()?;
            }
            Ok(self)
        }
    }

    #[test]
    fn strings_borrow_from_the_answer_unless_they_hold_an_escape() {
        let answer = r#"{"Items": [{"id": {"S": "plain"}, "user_name": {"S": "Zo\u00EB \"Z\" \ud83d\ude00\\\/\b\f\n\r\t"}}]}"#;
        let read = items(answer, &NAMES).unwrap();
        let [id, name, s] = &read.items[0];
        assert!(matches!(id, Some(Cow::Borrowed("plain"))));
        assert!(
            matches!(name, Some(Cow::Owned(name)) if name == "Zoë \"Z\" 😀\\/\u{8}\u{c}\n\r\t")
        );
        assert!(s.is_none());
        assert_eq!(read.last_evaluated_key, None);
    }

    #[test]
    fn a_name_given_twice_with_values_of_its_type_counts_the_last_time() {
        let answer = r#"{"Items": [{"id": {"S": "a"}}], "Items": [{"id": {"S": "b"}, "id": {"S": "c", "S": "d"}}]}"#;
        let read = items(answer, &NAMES).unwrap();
        assert_eq!(read.items, [[Some(Cow::Borrowed("d")), None, None]]);
    }

    #[test]
    fn a_get_answer_holds_one_item_or_none() {
        let names = ["id"];
        let got = item(r#"{"Item": {"id": {"S": "a"}, "n": {"N": "1"}}}"#, &names).unwrap();
        assert_eq!(got, Some([Some(Cow::Borrowed("a"))]));
        assert_eq!(item("{}", &names).unwrap(), None);
        assert_eq!(item(r#"{"Item": null}"#, &names).unwrap(), None);
        assert!(item(r#"{"Item": []}"#, &names).is_err());
    }

    #[test]
    fn anything_but_an_answer_is_refused_with_where() {
        for (bad, what) in [
            ("", "expected an object"),
            ("[]", "expected an object"),
            (r#"{"Items": {}}"#, "expected an array"),
            (r#"{"Items": [1]}"#, "expected an object"),
            (r#"{"Items": [{"id": "x"}]}"#, "expected an object"),
            (r#"{"Items": [{"id": {"S": 1}}]}"#, "expected a string"),
            (
                "{\"Items\": [{\"id\": {\"S\": \"x\u{1}\"}}]}",
                "control character in a string",
            ),
            (r#"{"Items": [{"id": {"S": "\x"}}]}"#, "invalid escape"),
            (
                r#"{"Items": [{"id": {"S": "\u12"}}]}"#,
                "invalid \\u escape",
            ),
            (
                r#"{"Items": [{"id": {"S": "\ud800"}}]}"#,
                "lone surrogate in a \\u escape",
            ),
            (
                r#"{"Items": [{"id": {"S": "\udc00"}}]}"#,
                "lone surrogate in a \\u escape",
            ),
            (
                r#"{"Items": [{"id": {"S": "\ud800\u0041"}}]}"#,
                "lone surrogate in a \\u escape",
            ),
            (
                r#"{"Items": [{"id": {"S": "\ud800\ud800"}}]}"#,
                "lone surrogate in a \\u escape",
            ),
            (
                r#"{"Items": [{"id": {"S": "\ud800\u12"}}]}"#,
                "invalid \\u escape",
            ),
            (
                r#"{"Items": [{"id": {"S": "a\"b", "N": "1"}, "S": 1}]}"#,
                "expected an object",
            ),
            (r#"{"Count": 01}"#, "expected ',' or '}'"),
            (r#"{"Count": 1.}"#, "invalid number"),
            (r#"{"Count": -}"#, "invalid number"),
            (r#"{"Count": 1e400}"#, "number out of range"),
            (r#"{"Count": tru}"#, "expected a value"),
            (r#"{"Count": 1} x"#, "text after the answer"),
            (r#"{"Count" 1}"#, "expected ':'"),
            (r#"{"Count": 1,}"#, "expected a string"),
            (r#"{"Items": [{},]}"#, "expected an object"),
        ] {
            let err = items(bad, &NAMES).unwrap_err();
            assert_eq!(err.what, what, "{bad}");
        }
        let err = items("{\"Items\": [{\"id\": {\"S\": \"x\u{1}\"}}]}", &NAMES).unwrap_err();
        assert_eq!(err.to_string(), "control character in a string at byte 26");
    }

    #[test]
    fn every_cut_answer_is_refused() {
        let answer = r#"{"Items": [{"id": {"S": "a\"é"}, "n": {"N": "-1.5e3"}, "b": {"BOOL": true}}], "LastEvaluatedKey": {"pk": {"S": "x"}}}"#;
        assert!(items(answer, &NAMES).is_ok());
        for (cut, _) in answer.char_indices() {
            assert!(items(&answer[..cut], &NAMES).is_err(), "{}", &answer[..cut]);
        }
    }

    #[test]
    fn nesting_is_refused_where_serde_json_refuses_it_and_deeper_does_no_harm() {
        let nested =
            |depth: usize| format!("{{\"Count\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
        for depth in 120..135 {
            let text = nested(depth);
            let serde = serde_json::from_str::<Value>(&text).is_ok();
            assert_eq!(items(&text, &NAMES).is_ok(), serde, "depth {depth}");
        }
        assert!(items(&nested(1_000_000), &NAMES).is_err());
    }
}
