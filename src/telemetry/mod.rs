//! Logging: readable text for a local run, one JSON object per line in a container.
//!
//! The JSON line is written here rather than by tracing-subscriber's JSON formatter, in the same
//! shape: `{"timestamp":…,"level":…,<the event's fields>,"target":…,"span":{<the current
//! span's fields>,"name":…}}`. That formatter keeps a span's fields as a JSON string, parses it
//! back into a map for every line and serializes the map again, and builds each field as a
//! `serde_json::Value` in a sorted map first. Here the span's fields are kept as JSON members
//! and copied into each line as they are: a create runs 20k fewer instructions of 175k (see
//! `bench/README.md`).

use std::fmt::{self, Write as _};
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogFormat;

mod batched;

pub use batched::{before_worker_sleeps, write_held_lines};

/// Installs the global subscriber. Fails on a bad `LOG_LEVEL` filter.
pub fn init(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("LOG_LEVEL '{filter}' is not a valid filter: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(batched::BatchedStdout);
    let installed = match format {
        // Colours for a terminal only: in a file or a pipe their escape codes are clutter.
        LogFormat::Text => builder
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .fmt_fields(JsonMembers)
            .event_format(JsonLine)
            .try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}

/// Writes an event as one JSON object, with the fields of the span it happened in.
struct JsonLine;

impl<S> FormatEvent<S, JsonMembers> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonMembers>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // An event from the `log` crate names its real target in a field; this takes it from there.
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        writer.write_str("{\"timestamp\":\"")?;
        SystemTime.format_time(&mut writer)?;
        write!(writer, "\",\"level\":\"{}\"", meta.level())?;
        let mut fields = Members::new(&mut writer, true);
        event.record(&mut fields);
        fields.result?;
        writer.write_str(",\"target\":")?;
        write_string(&mut writer, meta.target())?;
        let span = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            writer.write_str(",\"span\":{")?;
            let extensions = span.extensions();
            let members = extensions.get::<FormattedFields<JsonMembers>>();
            if let Some(members) = members.filter(|members| !members.is_empty()) {
                writer.write_str(members)?;
                writer.write_char(',')?;
            }
            writer.write_str("\"name\":")?;
            write_string(&mut writer, span.metadata().name())?;
            writer.write_char('}')?;
        }
        writer.write_str("}\n")
    }
}

/// Keeps a span's fields as the members of a JSON object, `"key":value,…`, without the braces,
/// ready to be copied into every line written inside the span.
struct JsonMembers;

impl<'writer> FormatFields<'writer> for JsonMembers {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut members = Members::new(&mut writer, false);
        fields.record(&mut members);
        members.result
    }

    /// Fields recorded after the span began are appended. A field recorded twice appears twice:
    /// the app records each span field once.
    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let separate = !current.is_empty();
        let mut writer = current.as_writer();
        let mut members = Members::new(&mut writer, separate);
        fields.record(&mut members);
        members.result
    }
}

/// Writes the fields it visits as JSON members, separated by commas.
struct Members<'a, 'w> {
    out: &'a mut Writer<'w>,
    /// Whether the next member needs a comma before it.
    separate: bool,
    result: fmt::Result,
}

impl<'a, 'w> Members<'a, 'w> {
    fn new(out: &'a mut Writer<'w>, separate: bool) -> Self {
        Self {
            out,
            separate,
            result: Ok(()),
        }
    }

    /// Writes the key of `field` and then the value, unless an earlier write failed or the
    /// field is the `log` crate's metadata, which the line has as its target.
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'w>) -> fmt::Result) {
        let name = field.name();
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.result = (|| {
            if self.separate {
                self.out.write_char(',')?;
            }
            write_string(self.out, name)?;
            self.out.write_char(':')?;
            value(self.out)
        })();
        self.separate = true;
    }
}

impl Visit for Members<'_, '_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |out| {
            out.write_char('"')?;
            write!(Escaped(&mut *out), "{value:?}")?;
            out.write_char('"')
        });
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |out| write_string(out, value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    /// JSON has no infinity or NaN: those are `null`, as serde_json writes them.
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.member(field, |out| {
            if value.is_finite() {
                write!(out, "{value}")
            } else {
                out.write_str("null")
            }
        });
    }
}

/// Writes `text` as a JSON string, quotes included.
fn write_string(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(&mut *out).write_str(text)?;
    out.write_char('"')
}

/// Escapes what it is given for the inside of a JSON string: quotes, backslashes and control
/// characters, as serde_json does; everything else, non-ASCII included, goes through as it is.
struct Escaped<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain = 0;
        for (at, byte) in text.bytes().enumerate() {
            let short = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..0x20 => "",
                _ => continue,
            };
            // The bytes escaped are ASCII, so `at` is always on a character boundary.
            self.0.write_str(&text[plain..at])?;
            if short.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(short)?;
            }
            plain = at + 1;
        }
        self.0.write_str(&text[plain..])
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// Collects what a subscriber writes.
    #[derive(Clone, Default)]
    pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Self;

        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    impl Captured {
        pub(crate) fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }

        /// Each line, parsed, without its timestamp (which is checked on its own).
        fn lines(&self) -> Vec<Value> {
            let text = self.text();
            assert!(text.ends_with('\n'), "lines end with a newline: {text:?}");
            text.lines()
                .map(|line| {
                    let mut object: Value = serde_json::from_str(line)
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                    let timestamp = object.as_object_mut().unwrap().remove("timestamp");
                    let timestamp = timestamp.expect("a timestamp");
                    let parsed = timestamp.as_str().unwrap().parse::<jiff::Timestamp>();
                    parsed.unwrap_or_else(|e| panic!("timestamp {timestamp}: {e}"));
                    object
                })
                .collect()
        }
    }

    /// What the app logs: events with and without a span, in nested spans, with fields of
    /// every kind, a span field recorded late, and text that needs escaping.
    fn log_samples() {
        tracing::info!("listening");
        let request = tracing::info_span!(
            "request",
            method = %"POST",
            path = %"/a \"quoted\" \\ path\n",
            request_id = %"01JQ3V5N8R2X7D4K9M6B1C0F2G",
        );
        request.in_scope(|| {
            tracing::info!(
                latency = %"8 ms",
                status = 201_u16,
                booking = ?Some("01JQ"),
                outcome = "created",
                "finished processing request"
            );
            tracing::warn_span!("inner").in_scope(|| tracing::warn!(retry = true, "inside"));
        });
        let late = tracing::info_span!("late", first = 1_i64, second = tracing::field::Empty);
        late.record("second", "recorded later");
        late.in_scope(|| {
            tracing::error!(
                negative = -7_i64,
                large = u64::MAX,
                ratio = 1.5_f64,
                not_a_number = f64::NAN,
                text = "tab\t, control \u{1}\u{1f}, é, 😀, \u{2028}",
                "all kinds"
            );
        });
        tracing::debug!(ignored = true, "below the level");
    }

    fn captured_with(install: impl FnOnce(Captured) -> tracing::Dispatch) -> Vec<Value> {
        let captured = Captured::default();
        tracing::dispatcher::with_default(&install(captured.clone()), log_samples);
        captured.lines()
    }

    #[test]
    fn json_line_has_the_shape_of_tracing_subscribers_json_format() {
        let ours = captured_with(|writer| {
            tracing_subscriber::fmt()
                .with_writer(writer)
                .fmt_fields(JsonMembers)
                .event_format(JsonLine)
                .into()
        });
        let theirs = captured_with(|writer| {
            tracing_subscriber::fmt()
                .with_writer(writer)
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .into()
        });
        assert_eq!(
            ours.len(),
            4,
            "one line per event at INFO and above: {ours:?}"
        );
        assert_eq!(ours, theirs);
        assert_eq!(ours[1]["span"]["path"], "/a \"quoted\" \\ path\n");
        assert_eq!(ours[3]["span"]["second"], "recorded later");
        assert_eq!(ours[3]["not_a_number"], Value::Null);
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let texts = (0..0x80_u32)
            .chain([0xe9, 0x7ff, 0x2028, 0xfeff, 0x1f600])
            .map(|c| format!("a{}b", char::from_u32(c).unwrap()))
            .chain(["".to_owned(), "\"\\".to_owned()]);
        for text in texts {
            let mut ours = String::new();
            write_string(&mut ours, &text).unwrap();
            assert_eq!(ours, serde_json::to_string(&text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn raw_identifiers_lose_their_prefix() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .fmt_fields(JsonMembers)
            .event_format(JsonLine);
        tracing::subscriber::with_default(subscriber.finish(), || {
            tracing::info_span!("s", r#type = "span").in_scope(|| {
                tracing::info!(r#type = "event", "raw");
            });
        });
        let line = &captured.lines()[0];
        assert_eq!(line["type"], "event");
        assert_eq!(line["span"]["type"], "span");
    }
}
