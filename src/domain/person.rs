//! A person's name as it is shown, and the key under which their bookings are compared.

use std::borrow::Cow;
use std::fmt;

use icu_casemap::CaseMapper;
use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};
use icu_properties::props::{
    BasicEmoji, CanonicalCombiningClass, DefaultIgnorableCodePoint, EmojiModifier,
    ExtendedPictographic, GeneralCategory, JoiningType,
};
use icu_properties::{CodePointMapData, CodePointSetData, EmojiSetData};

/// Longest accepted name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A trimmed, non-empty name of at most [`MAX_NAME_CHARS`] characters without control or
/// invisible characters, with at least one letter or digit, and with one U+0020 between words.
#[derive(Debug, Clone)]
pub struct PersonName {
    name: String,
    /// The name as a booking stored before names were composed holds it, where that is not
    /// composed: that booking's entries are under a key made from it (see
    /// [`PersonName::earlier_keys`]).
    uncomposed: Option<Box<str>>,
}

/// Two names are equal when they show the same: how an earlier release stored one does not
/// make it another name.
impl PartialEq for PersonName {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for PersonName {}

/// Why a name was refused. The message says what is wrong with the name but not which field
/// held it: the caller puts the field's name in front ("user_name must not be empty").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidName {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {MAX_NAME_CHARS} characters, got {0}")]
    TooLong(usize),
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error(
        "must not contain invisible formatting characters, got U+{:04X}",
        u32::from(*.0)
    )]
    InvisibleCharacter(char),
    #[error("must contain a letter or a digit")]
    NoLetterOrDigit,
    #[error("must not stack more than {MAX_STACKED_MARKS} combining marks, or one mark twice")]
    StackedMarks,
    #[error("must be typed in at most {MAX_TYPED_CHARS} characters, got {0}")]
    TypedTooLong(usize),
}

impl PersonName {
    /// Trims the name and brings it to Unicode's composed form (NFC): "Zoë" typed as `e` plus a
    /// combining diaeresis (as some keyboards and systems send it) is then the same name, and
    /// the same person, as "Zoë" typed as one character.
    ///
    /// Invisible characters are refused: a name that looks like another one must be the same
    /// person, and a name must not turn the text around it backwards. These are Unicode's
    /// formatting characters (`Cf`: zero-width spaces, byte order marks, direction overrides,
    /// …) and its default ignorable code points (combining grapheme joiner, variation
    /// selectors, Hangul fillers, …), but for the variation selector that draws a character as
    /// an emoji ("❤️", keycaps), where it changes what is drawn, and for the zero-width joiner
    /// and non-joiner, which Persian and Indic names and emoji sequences need. Those are taken
    /// out where they join nothing (see [`joins`]): "Ann" with one would otherwise be a second
    /// person who looks like "Ann", and a Persian keyboard types the non-joiner after letters
    /// that do not join anyway. A name must also hold a letter or a digit, so that it does not
    /// show as blank or as mere punctuation; and stack no more combining marks than a script
    /// needs (see [`stacks_marks`]), so that it is not drawn over the lines around it.
    ///
    /// For the same reason every run of spaces inside the name becomes one U+0020 (see
    /// [`single_spaced`]): "Ann  Lee" and "Ann Lee" with a no-break space look like "Ann Lee"
    /// on a page, where HTML collapses spaces.
    pub fn parse(raw: &str) -> Result<Self, InvalidName> {
        // Bounded before any work on it: the joiners' rule looks along the text around each.
        let raw_chars = raw.chars().count();
        if raw_chars > MAX_TYPED_CHARS {
            return Err(InvalidName::TypedTooLong(raw_chars));
        }
        // Joiners are judged in composed form, where marks stand in their canonical order, so
        // that every spelling of a name keeps the same ones.
        let composed_raw = nfc(raw);
        let joined = without_idle_joiners(&composed_raw)?;
        let spaced = single_spaced(&joined);
        let name = composed(spaced.trim())?;
        if let Some(c) = first_invisible(&name) {
            return Err(InvalidName::InvisibleCharacter(c));
        }
        if !name.chars().any(char::is_alphanumeric) {
            return Err(InvalidName::NoLetterOrDigit);
        }
        if stacks_marks(&name) {
            return Err(InvalidName::StackedMarks);
        }
        Ok(Self {
            name: name.into_owned(),
            // Stored composed from now on: there is no earlier spelling to keep.
            uncomposed: None,
        })
    }

    /// A name read back from storage, by the rules of [`PersonName::parse`] but for the
    /// invisible characters, the letter or digit and the single spaces, which bookings stored
    /// before those rules may lack. Such a name is read as it was stored, so that its key is
    /// still the one its entries were stored under.
    pub fn stored(raw: &str) -> Result<Self, InvalidName> {
        let trimmed = raw.trim();
        let name = composed(trimmed)?;
        let uncomposed = (name != trimmed).then(|| trimmed.into());
        Ok(Self {
            name: name.into_owned(),
            uncomposed,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The name as its booking's record holds it: [`PersonName::as_str`], but for a name an
    /// earlier release stored uncomposed, which a record rewritten from it must keep, so that
    /// its entries are still found under the key of then.
    pub fn as_stored(&self) -> &str {
        self.uncomposed.as_deref().unwrap_or(&self.name)
    }

    /// The identity used for overlap checks and per-person listings: names are compared
    /// case-insensitively, so "Alice" and "alice " are the same person.
    ///
    /// Case is removed by Unicode's full case folding, not by lowercasing: "STRASSE" is
    /// "Straße" and "ΟΔΥΣΣΕΥΣ" is "Οδυσσευς", where lowercase keeps ß and a final ς apart.
    /// Folding can leave a name out of composed form, so the key is composed again (Unicode's
    /// canonical caseless match, with NFC for NFD). An ASCII name folds to its ASCII lowercase,
    /// which skips both steps: the month page keys every booking it shows.
    pub fn key(&self) -> String {
        if self.name.is_ascii() {
            return self.name.to_ascii_lowercase();
        }
        let folded = CaseMapper::new().fold_string(&self.name);
        ComposingNormalizerBorrowed::new_nfc()
            .normalize(&folded)
            .into_owned()
    }

    /// The keys earlier releases stored this name's entries under, where they differ from
    /// [`PersonName::key`]: before keys folded case, the name lowercased (it differs only for
    /// names with letters that lowercase and case folding treat apart, such as ß or a final ς);
    /// before names were composed, the name as it was stored, lowercased ("zoe\u{308}" for
    /// "Zoe" and a combining diaeresis). Deleting a booking stored then must find its entries
    /// under one of them.
    pub fn earlier_keys(&self) -> Vec<String> {
        let key = self.key();
        let lowercased = [Some(self.name.as_str()), self.uncomposed.as_deref()];
        let mut keys: Vec<String> = Vec::new();
        for earlier in lowercased.into_iter().flatten().map(str::to_lowercase) {
            if earlier != key && !keys.contains(&earlier) {
                keys.push(earlier);
            }
        }
        keys
    }
}

/// Most characters a name may be typed with, before it is trimmed, single-spaced and
/// composed: room for a decomposed name of [`MAX_NAME_CHARS`] and its spaces. It bounds the
/// work of reading a name, as the joiners' rule looks along the text around each.
pub const MAX_TYPED_CHARS: usize = 4 * MAX_NAME_CHARS;

/// `text` in Unicode's composed form (NFC).
fn nfc(text: &str) -> Cow<'_, str> {
    // ASCII is in composed form as it is: a month page reads 50 names, most of them ASCII, and
    // the normalizer's pass took half of reading one.
    if text.is_ascii() {
        Cow::Borrowed(text)
    } else {
        ComposingNormalizerBorrowed::new_nfc().normalize(text)
    }
}

/// `trimmed` in composed form (NFC), refused when empty, too long or holding a control
/// character: the rules of both [`PersonName::parse`] and [`PersonName::stored`].
fn composed(trimmed: &str) -> Result<Cow<'_, str>, InvalidName> {
    let name = nfc(trimmed);
    if name.is_empty() {
        return Err(InvalidName::Empty);
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(InvalidName::TooLong(chars));
    }
    if name.chars().any(char::is_control) {
        return Err(InvalidName::ControlCharacter);
    }
    Ok(name)
}

/// `raw` with every run of spaces as one U+0020. A space here is a character of Unicode's
/// White_Space but for the control characters among them (tab, line feed, …), which the name's
/// rules refuse with a message of their own: U+0020, the no-break spaces, the typographic spaces
/// U+2000–U+200A, the line and paragraph separators, the ideographic space. The ends are left
/// for the caller to trim.
fn single_spaced(raw: &str) -> String {
    let mut spaced = String::with_capacity(raw.len());
    let mut after_space = false;
    for c in raw.chars() {
        let space = c.is_whitespace() && !c.is_control();
        if !space {
            spaced.push(c);
        } else if !after_space {
            spaced.push(' ');
        }
        after_space = space;
    }
    spaced
}

/// The first character of `name` that [`PersonName::parse`] refuses as invisible.
fn first_invisible(name: &str) -> Option<char> {
    let category = CodePointMapData::<GeneralCategory>::new();
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    let mut previous = None;
    name.char_indices().find_map(|(at, c)| {
        let before = previous.replace(c);
        // U+2800, the blank Braille pattern, is a symbol by its category and drawn as nothing.
        let invisible = category.get(c) == GeneralCategory::Format
            || ignorable.contains(c)
            || c == BLANK_BRAILLE;
        // The joiners left join something (see `without_idle_joiners`).
        let joiner = matches!(c, ZWNJ | ZWJ);
        let next = || name[at + c.len_utf8()..].chars().next();
        let refused = invisible && !joiner && !(c == EMOJI_STYLE && draws_as_emoji(before, next()));
        refused.then_some(c)
    })
}

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';

/// `text` without the zero-width joiners and non-joiners that join nothing. Each is judged by
/// what is kept before it, so that of two in a row the one next to what it joins stays. One
/// that joins nothing but keeps apart what would otherwise be drawn as one is refused instead:
/// taken out, it would let a mark fall on the letter before it, or Hangul jamo compose into
/// a syllable ("ᄀ" and "ᅡ" into "가"), and the name would not look as typed.
fn without_idle_joiners(text: &str) -> Result<Cow<'_, str>, InvalidName> {
    if !text.contains([ZWNJ, ZWJ]) {
        return Ok(Cow::Borrowed(text));
    }
    let mut kept = String::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        let after = &text[at + c.len_utf8()..];
        if !matches!(c, ZWNJ | ZWJ) || joins(c, &kept, after) {
            kept.push(c);
        } else if would_merge(kept.chars().next_back(), after.chars().next()) {
            return Err(InvalidName::InvisibleCharacter(c));
        }
    }
    Ok(Cow::Owned(kept))
}

/// Whether `next`, once nothing stands between them, would be drawn with or composed into
/// `previous`: a combining mark, or what composes with it.
fn would_merge(previous: Option<char>, next: Option<char>) -> bool {
    let Some(next) = next else {
        return false;
    };
    if is_mark(CodePointMapData::<GeneralCategory>::new().get(next)) {
        return true;
    }
    previous.is_some_and(|previous| {
        let pair: String = [previous, next].into_iter().collect();
        nfc(&pair) != pair
    })
}

/// Whether a character of `category` is a combining mark, drawn on the character before it.
fn is_mark(category: GeneralCategory) -> bool {
    matches!(
        category,
        GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark
    )
}

/// Whether `c`, a zero-width joiner or non-joiner between `before` and `after`, changes how
/// they are drawn. The rules are IDNA's (RFC 5892, appendix A.1 and A.2), with
/// emoji sequences added:
/// - either, after a virama: it asks for a half form or keeps a conjunct apart (Indic scripts);
/// - the joiner before a virama: Bengali's ya-phala ("র‍্য");
/// - the non-joiner between letters that would join (Arabic script, such as Persian's
///   "علی‌اکبر"), marks that do not join on either side of it aside;
/// - the joiner between emoji, an emoji's modifier or presentation selector aside ("👩‍💻").
fn joins(c: char, before: &str, after: &str) -> bool {
    let combining = CodePointMapData::<CanonicalCombiningClass>::new();
    let virama =
        |c: Option<char>| c.is_some_and(|c| combining.get(c) == CanonicalCombiningClass::Virama);
    let previous = before.chars().next_back();
    let next = after.chars().next();
    match c {
        ZWNJ => {
            let joining = CodePointMapData::<JoiningType>::new();
            let not_transparent = |c: &char| joining.get(*c) != JoiningType::Transparent;
            let left = before
                .chars()
                .rev()
                .find(not_transparent)
                .map(|c| joining.get(c));
            let right = after.chars().find(not_transparent).map(|c| joining.get(c));
            virama(previous)
                || (matches!(
                    left,
                    Some(JoiningType::LeftJoining | JoiningType::DualJoining)
                ) && matches!(
                    right,
                    Some(JoiningType::RightJoining | JoiningType::DualJoining)
                ))
        }
        ZWJ => {
            let pictographic = CodePointSetData::new::<ExtendedPictographic>();
            let modifier = CodePointSetData::new::<EmojiModifier>();
            let emoji = before
                .chars()
                .rev()
                .find(|&c| c != EMOJI_STYLE && !modifier.contains(c));
            virama(previous)
                || virama(next)
                || (emoji.is_some_and(|c| pictographic.contains(c))
                    && next.is_some_and(|c| pictographic.contains(c)))
        }
        _ => false,
    }
}

/// Most combining marks one character takes, by Unicode's advice against spoofing (UTS #39,
/// section 5.4): more are not a script's writing but text drawn over the lines around it.
pub const MAX_STACKED_MARKS: usize = 4;

/// Whether `name` stacks more than [`MAX_STACKED_MARKS`] nonspacing or enclosing marks on one
/// character, or one such mark twice in a row, which draws as once and would make another
/// name that looks the same. Marks are counted decomposed (NFD), as UTS #39 counts them:
/// "ế" is three characters there.
fn stacks_marks(name: &str) -> bool {
    if name.is_ascii() {
        return false;
    }
    let category = CodePointMapData::<GeneralCategory>::new();
    let mut run = 0;
    let mut previous = None;
    let decomposed = DecomposingNormalizerBorrowed::new_nfd().normalize(name);
    // A joiner between marks does not end their stack: it is drawn as nothing.
    let mut drawn = decomposed.chars().filter(|c| !matches!(*c, ZWNJ | ZWJ));
    drawn.any(|c| {
        let mark = matches!(
            category.get(c),
            GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
        );
        let repeated = mark && previous == Some(c);
        run = if mark { run + 1 } else { 0 };
        previous = Some(c);
        repeated || run > MAX_STACKED_MARKS
    })
}

/// A Braille pattern without dots: a symbol that is drawn blank.
const BLANK_BRAILLE: char = '\u{2800}';

/// The variation selector that asks for an emoji's colourful presentation.
const EMOJI_STYLE: char = '\u{FE0F}';

/// Whether [`EMOJI_STYLE`] between `before` and `next` changes what is drawn: after a
/// character drawn as text by default that has an emoji presentation ("❤️", Unicode's
/// Basic_Emoji sequences), or in a keycap ("1️⃣"). Anywhere else it changes nothing, and
/// "Eve 😀" with it would be a second person who looks like "Eve 😀"; the other selectors
/// (U+FE0E for text style, U+FE00–FE0D, U+E0100–E01EF) draw no name differently either.
fn draws_as_emoji(before: Option<char>, next: Option<char>) -> bool {
    match before {
        Some('0'..='9' | '#' | '*') => next == Some('\u{20E3}'),
        Some(base) => {
            EmojiSetData::new::<BasicEmoji>().contains_str(&format!("{base}{EMOJI_STYLE}"))
        }
        None => false,
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_keeps_case_for_display() {
        let name = PersonName::parse("  Ada Lovelace \t").unwrap();
        assert_eq!(name.as_str(), "Ada Lovelace");
        assert_eq!(name.key(), "ada lovelace");
    }

    #[test]
    fn composed_and_decomposed_spellings_are_one_person() {
        let composed = PersonName::parse("Zo\u{eb} Brontë").unwrap();
        let decomposed = PersonName::parse("zoe\u{308} bronte\u{308}").unwrap();
        assert_eq!(composed.key(), decomposed.key());
        assert_eq!(decomposed.as_str(), "zo\u{eb} bront\u{eb}", "kept composed");
        assert_eq!(
            PersonName::parse(&"e\u{301}".repeat(100)).map(|n| n.as_str().chars().count()),
            Ok(100),
            "the limit counts composed characters"
        );
    }

    #[test]
    fn runs_of_spaces_are_one_space() {
        let name = |raw: &str| PersonName::parse(raw).map(|n| n.as_str().to_owned());
        assert_eq!(name("Ann  Lee").unwrap(), "Ann Lee");
        assert_eq!(name("Ann\u{A0}Lee").unwrap(), "Ann Lee", "no-break space");
        assert_eq!(name("Ann \u{2003}\u{202F} Lee").unwrap(), "Ann Lee");
        assert_eq!(
            name("山田\u{3000}太郎").unwrap(),
            "山田 太郎",
            "ideographic space"
        );
        assert_eq!(name("\u{A0}Ann Lee\u{2028}").unwrap(), "Ann Lee", "trimmed");
        assert_eq!(
            name("Ann\tLee"),
            Err(InvalidName::ControlCharacter),
            "a tab is refused, not taken for a space"
        );
        assert_eq!(name("\u{A0}\u{3000}"), Err(InvalidName::Empty));
        // A name stored before keeps its spaces, and so the key its entries are under.
        let stored = PersonName::stored("Ann  Lee").unwrap();
        assert_eq!(stored.key(), "ann  lee");
    }

    #[test]
    fn refuses_empty_long_and_control() {
        assert_eq!(PersonName::parse("   "), Err(InvalidName::Empty));
        // Typed with more than 400 characters, refused before any other work, however few it
        // would come to; 400 are read.
        assert_eq!(
            PersonName::parse(&format!("Ann{}", " ".repeat(398))),
            Err(InvalidName::TypedTooLong(401))
        );
        assert_eq!(
            PersonName::parse(&format!("Ann{}", " ".repeat(397))).map(|n| n.to_string()),
            Ok("Ann".to_owned())
        );
        assert_eq!(
            PersonName::parse(&"x".repeat(101)),
            Err(InvalidName::TooLong(101))
        );
        assert!(
            PersonName::parse(&"é".repeat(100)).is_ok(),
            "limit counts characters, not bytes"
        );
        assert_eq!(
            PersonName::parse("a\u{0}b"),
            Err(InvalidName::ControlCharacter)
        );
        assert_eq!(
            PersonName::parse("a\nb"),
            Err(InvalidName::ControlCharacter)
        );
    }

    #[test]
    fn refuses_invisible_formatting() {
        for (raw, invisible) in [
            ("Ann\u{200B}", '\u{200B}'),
            ("\u{FEFF}Ann", '\u{FEFF}'),
            ("Ann \u{202E}nnA", '\u{202E}'),
            ("An\u{AD}n", '\u{AD}'),
        ] {
            assert_eq!(
                PersonName::parse(raw),
                Err(InvalidName::InvisibleCharacter(invisible)),
                "{raw:?}"
            );
            assert!(PersonName::stored(raw).is_ok(), "stored earlier: {raw:?}");
        }
        assert_eq!(
            InvalidName::InvisibleCharacter('\u{200B}').to_string(),
            "must not contain invisible formatting characters, got U+200B"
        );
    }

    /// A joiner that joins nothing is taken out, so that the name is the person it looks
    /// like; one that joins letters or emoji is kept.
    #[test]
    fn joiners_are_kept_only_where_they_join() {
        let name = |raw: &str| PersonName::parse(raw).unwrap();
        for idle in [
            "Ann\u{200D}",
            "\u{200D}Ann",
            "A\u{200D}nn",
            "A\u{200C}nn",
            "Ann\u{200D}\u{200C}\u{200D}",
            "Ann \u{200D}",
            "Ann \u{200C} ",
            "\u{1F600}\u{200D}Ann", // an emoji, but no emoji after it
        ] {
            let parsed = name(idle);
            assert_eq!(
                parsed.as_str(),
                idle.replace(['\u{200C}', '\u{200D}'], "").trim()
            );
            assert_eq!(parsed.key(), name(&parsed.to_string()).key(), "{idle:?}");
        }
        assert_eq!(name("Ann \u{200D} Lee").as_str(), "Ann Lee");
        assert_eq!(
            PersonName::parse("\u{200D}\u{200C}"),
            Err(InvalidName::Empty)
        );
        for kept in [
            "\u{645}\u{6CC}\u{200C}\u{62E}\u{648}\u{627}\u{647}\u{645}", // Persian, between joining letters
            "\u{639}\u{644}\u{6CC}\u{200C}\u{627}\u{6A9}\u{628}\u{631}", // before a right-joining alef
            "\u{915}\u{94D}\u{200D}\u{937}", // Devanagari half form, after a virama
            "\u{915}\u{94D}\u{200C}\u{937}", // Devanagari, a conjunct kept apart
            "\u{9B0}\u{200D}\u{9CD}\u{9AF}", // Bengali ya-phala, before a virama
            "Ann \u{1F469}\u{200D}\u{1F4BB}", // woman technologist
            "Ann \u{1F468}\u{1F3FD}\u{200D}\u{1F680}", // with a skin tone
        ] {
            assert_eq!(name(kept).as_str(), kept);
        }
        // One that joins nothing before a mark is refused: taken out, it would put the mark
        // on the letter before it.
        assert_eq!(
            PersonName::parse("Ann\u{200C}\u{301}e"),
            Err(InvalidName::InvisibleCharacter('\u{200C}'))
        );
        // Nor one whose removal would compose Hangul jamo into a syllable.
        assert_eq!(
            PersonName::parse("Ann \u{1100}\u{200C}\u{1161}"),
            Err(InvalidName::InvisibleCharacter('\u{200C}'))
        );
        // One that joins, before a mark, stays.
        assert_eq!(
            name("\u{915}\u{94D}\u{200D}\u{301}").as_str(),
            "\u{915}\u{94D}\u{200D}\u{301}"
        );
        // Judged in composed form: the marks' order as typed does not matter.
        assert_eq!(
            name("\u{91C}\u{94D}\u{93C}\u{200D}\u{937}"),
            name("\u{91C}\u{93C}\u{94D}\u{200D}\u{937}")
        );
        // Of two in a row, the one next to what it joins stays.
        assert_eq!(
            name("\u{6CC}\u{200C}\u{200C}\u{627}").as_str(),
            "\u{6CC}\u{200C}\u{627}"
        );
        // A Persian non-joiner after a letter that does not join (dal) changes nothing.
        assert_eq!(
            name("\u{645}\u{62D}\u{645}\u{62F}\u{200C}\u{631}\u{636}\u{627}").as_str(),
            "\u{645}\u{62D}\u{645}\u{62F}\u{631}\u{636}\u{627}"
        );
    }

    /// More than four marks on one character, or one mark twice in a row, are refused; the
    /// marks of Vietnamese, Hebrew or Devanagari names are not.
    #[test]
    fn refuses_stacked_marks() {
        for stacked in [
            format!("A{}", "\u{301}\u{308}\u{311}\u{358}\u{35B}"),
            format!("Ann {}", "\u{300}\u{301}\u{302}\u{303}\u{304}"),
            "Zoe\u{308}\u{308}".to_owned(),
            format!("Ann{}", "\u{358}\u{301}\u{308}\u{311}".repeat(24)),
            // Joiners kept after a virama do not end the stack.
            format!("Ann \u{915}{}", "\u{94D}\u{200D}".repeat(20)),
            format!(
                "Ann \u{915}{}",
                "\u{301}\u{302}\u{303}\u{94D}\u{200D}".repeat(6)
            ),
        ] {
            assert_eq!(
                PersonName::parse(&stacked),
                Err(InvalidName::StackedMarks),
                "{stacked:?}"
            );
            assert!(PersonName::stored(&stacked).is_ok(), "stored earlier");
        }
        for kept in [
            format!("A{}", "\u{301}\u{308}\u{311}\u{358}"),
            "Nguye\u{302}\u{303}n".to_owned(), // Nguyễn, decomposed
            "\u{5E9}\u{5C1}\u{5B8}\u{5DC}\u{5D5}\u{5B9}\u{5DD}".to_owned(), // שָׁלוֹם
            "\u{915}\u{93C}\u{94D}\u{937}".to_owned(), // nukta and virama
        ] {
            assert!(PersonName::parse(&kept).is_ok(), "{kept:?}");
        }
    }

    #[test]
    fn refuses_invisible_characters_beyond_formatting() {
        for (raw, invisible) in [
            ("Ann\u{34F}", '\u{34F}'),   // combining grapheme joiner
            ("Ann\u{3164}", '\u{3164}'), // Hangul filler
            ("\u{3164}", '\u{3164}'),
            ("Ann\u{2800}", '\u{2800}'), // a blank Braille pattern, a symbol drawn as nothing
            ("Ann\u{115F}", '\u{115F}'), // Hangul choseong filler
            ("Ann\u{FFA0}", '\u{FFA0}'), // halfwidth Hangul filler
            ("Ann\u{180B}", '\u{180B}'), // Mongolian free variation selector
        ] {
            assert_eq!(
                PersonName::parse(raw),
                Err(InvalidName::InvisibleCharacter(invisible)),
                "{raw:?}"
            );
            assert!(PersonName::stored(raw).is_ok(), "stored earlier: {raw:?}");
        }
    }

    #[test]
    fn variation_selectors_only_where_they_draw_an_emoji() {
        for (raw, selector) in [
            ("Ann\u{FE0F}", '\u{FE0F}'),
            ("Ann \u{FE0F}", '\u{FE0F}'),
            ("Ann\u{E0100}", '\u{E0100}'),
            ("Ann \u{2764}\u{FE0F}\u{FE0E}", '\u{FE0E}'),
            // Each looks like the same name without the selector.
            ("Eve \u{1F600}\u{FE0F}", '\u{FE0F}'), // 😀 is drawn as an emoji already
            ("Eve \u{1F600}\u{FE00}", '\u{FE00}'),
            ("Eve \u{1F600}\u{E0100}", '\u{E0100}'),
            ("Eve \u{2764}\u{FE0E}", '\u{FE0E}'), // ❤ is drawn as text already
            ("Eve 7\u{FE0F}", '\u{FE0F}'),        // a keycap only with U+20E3 after it
            ("Eve #\u{FE0F}x", '\u{FE0F}'),
        ] {
            assert_eq!(
                PersonName::parse(raw),
                Err(InvalidName::InvisibleCharacter(selector)),
                "{raw:?}"
            );
            assert!(PersonName::stored(raw).is_ok(), "stored earlier: {raw:?}");
        }
        for kept in [
            "Ann \u{2764}\u{FE0F}",
            "Ann \u{1F6E4}\u{FE0F}",
            "Ann 1\u{FE0F}\u{20E3}",
            "Ann #\u{FE0F}\u{20E3}",
            "Ann \u{2764}\u{FE0F}\u{200D}\u{1F525}",
            "Ann \u{1F3F3}\u{FE0F}\u{200D}\u{1F308}",
        ] {
            assert_eq!(
                PersonName::parse(kept).map(|n| n.to_string()),
                Ok(kept.to_owned())
            );
        }
    }

    #[test]
    fn names_need_a_letter_or_a_digit() {
        for raw in [
            "---",
            "\u{1F600}",
            "\u{1F469}\u{200D}\u{1F4BB}",
            ". \u{2764}\u{FE0F}",
        ] {
            assert_eq!(
                PersonName::parse(raw),
                Err(InvalidName::NoLetterOrDigit),
                "{raw:?}"
            );
            assert!(PersonName::stored(raw).is_ok(), "stored earlier: {raw:?}");
        }
        for kept in ["7", "\u{674E}", "\u{661}", "Ann \u{1F600}"] {
            assert!(PersonName::parse(kept).is_ok(), "{kept:?}");
        }
        assert_eq!(
            InvalidName::NoLetterOrDigit.to_string(),
            "must contain a letter or a digit"
        );
    }

    #[test]
    fn case_is_folded_beyond_lowercase() {
        let key = |raw: &str| PersonName::parse(raw).unwrap().key();
        assert_eq!(key("Straße"), key("STRASSE"));
        assert_eq!(key("Straße"), key("STRAẞE"), "capital sharp s");
        assert_eq!(key("ΟΔΥΣΣΕΥΣ"), key("Οδυσσευς"), "final sigma");
        assert_eq!(
            key("\u{1C5}emal"),
            key("\u{1C4}EMAL"),
            "titlecase and capital digraph"
        );
        assert_ne!(key("Strase"), key("Straße"));
        assert_eq!(
            key("Zoë Brontë"),
            key("ZOE\u{308} BRONTE\u{308}"),
            "folded after composing"
        );
    }

    #[test]
    fn earlier_keys_are_the_name_lowercased_as_shown_and_as_stored() {
        let name = PersonName::parse("STRAẞE Οδυσσευς").unwrap();
        assert_eq!(name.earlier_keys(), ["straße οδυσσευς"]);
        assert_eq!(name.key(), "strasse οδυσσευσ");
        for plain in ["Ann Lee", "Zoë", "Zoe\u{308}"] {
            let parsed = PersonName::parse(plain).unwrap();
            assert_eq!(parsed.earlier_keys(), Vec::<String>::new(), "{plain:?}");
        }
        // Stored uncomposed by a release before names were composed: shown composed, equal to
        // the name typed composed, and its entries found under the key of then too.
        let stored = PersonName::stored(" ZOE\u{308} ").unwrap();
        assert_eq!(stored.as_str(), "ZO\u{CB}");
        assert_eq!(stored, PersonName::parse("ZO\u{CB}").unwrap());
        assert_eq!(stored.key(), "zo\u{EB}");
        assert_eq!(stored.earlier_keys(), ["zoe\u{308}"]);
        let both = PersonName::stored("STRASSE\u{1E9E}E\u{301}").unwrap();
        assert_eq!(both.earlier_keys(), ["strasseß\u{E9}", "strasseße\u{301}"]);
    }

    #[test]
    fn keys_are_in_composed_form() {
        // U+01F0 folds to `j` and a combining caron, which compose back to U+01F0; the same
        // letter typed as a capital `J` and a caron has no composed form, and folds to the same.
        let key = |raw: &str| PersonName::parse(raw).unwrap().key();
        assert_eq!(key("\u{1F0}ane"), "\u{1F0}ane");
        assert_eq!(key("J\u{30C}ANE"), "\u{1F0}ane");
    }

    proptest! {
        #[test]
        fn accepted_names_hold_the_invariants(
            raw in proptest::collection::vec(prop_oneof![
                8 => "\\PC",
                1 => "[ \u{A0}\u{2000}-\u{200A}\u{2028}\u{3000}]",
                1 => "[\\x00-\\x1f\\x7f\u{AD}\u{200B}-\u{200F}\u{202A}-\u{202E}\u{2066}-\u{2069}\u{FEFF}]",
                1 => "[\u{34F}\u{115F}\u{180B}\u{2764}\u{2800}\u{3164}\u{FE00}\u{FE0E}\u{FE0F}\u{1F600}\u{E0100}7#\u{20E3}]",
                // Joiners, and what they may join: Devanagari letters, nukta and virama,
                // Arabic letters joining both ways and one way, a transparent mark, emoji and
                // a skin tone, combining accents.
                3 => "[\u{200C}\u{200D}\u{915}\u{937}\u{93C}\u{94D}\u{628}\u{627}\u{64E}\u{1F469}\u{1F3FD}\u{301}\u{308}e]",
            ], 0..=120).prop_map(|chars| chars.concat())
        ) {
            let parsed = PersonName::parse(&raw);
            // Every spelling of a name is the same name: the decomposed one too.
            let decomposed = DecomposingNormalizerBorrowed::new_nfd().normalize(&raw);
            prop_assert_eq!(&PersonName::parse(&decomposed), &parsed, "{:?}", raw);
            if let Ok(name) = parsed {
                // A name parsed again is the same name: copied from the page, it is the same
                // person.
                prop_assert_eq!(PersonName::parse(name.as_str()).map(|n| n.name), Ok(name.name.clone()));
                let s = name.as_str();
                prop_assert_eq!(s, s.trim());
                prop_assert!(!s.is_empty() && s.chars().count() <= MAX_NAME_CHARS);
                prop_assert!(!s.chars().any(char::is_control));
                prop_assert!(!s.contains("  ") && s.chars().all(|c| c == ' ' || !c.is_whitespace()), "{:?}", s);
                prop_assert!(s.chars().any(char::is_alphanumeric), "{:?}", s);
                let format = CodePointMapData::<GeneralCategory>::new();
                let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
                let basic_emoji = EmojiSetData::new::<BasicEmoji>();
                let chars: Vec<char> = s.chars().collect();
                let visible = chars.iter().enumerate().all(|(i, &c)| {
                    let hidden = format.get(c) == GeneralCategory::Format || ignorable.contains(c);
                    let joiner = matches!(c, '\u{200C}' | '\u{200D}');
                    // U+FE0F only as the second character of an emoji presentation sequence
                    // or of a keycap.
                    let emoji_style = c == '\u{FE0F}'
                        && i > 0
                        && (basic_emoji.contains_str(&chars[i - 1..=i].iter().collect::<String>())
                            || (chars[i - 1].is_ascii_digit() || "#*".contains(chars[i - 1]))
                                && chars.get(i + 1) == Some(&'\u{20E3}'));
                    !hidden || joiner || emoji_style
                });
                prop_assert!(visible, "{:?}", s);
            }
        }

        #[test]
        fn key_ignores_case_and_surrounding_space(raw in "[a-zA-Z ]{1,20}[a-zA-Z]") {
            let a = PersonName::parse(&raw).unwrap();
            let b = PersonName::parse(&format!("  {}  ", raw.to_uppercase())).unwrap();
            prop_assert_eq!(a.key(), b.key());
        }

        #[test]
        fn key_ignores_case_beyond_ascii(raw in "[a-zA-Zäöüßéèçñøåæœσςάέήίόύώαβγδεζηθικλμνξοπρτυφχψωабвгдеёжзийклмнопрстуфхцчшщъыьэюя ]{0,20}[a-zäöüßσς]") {
            let name = PersonName::parse(&raw).unwrap();
            for other in [raw.to_uppercase(), raw.to_lowercase()] {
                prop_assert_eq!(PersonName::parse(&other).unwrap().key(), name.key(), "{}", other);
            }
        }
    }
}
