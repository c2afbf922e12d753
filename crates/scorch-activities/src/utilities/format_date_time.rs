//! `format_date_time`: parses a date-time, adjusts it, and formats it in strftime or .NET syntax.

use jiff::civil::{DateTime, Time};
use jiff::fmt::strtime;
use jiff::fmt::temporal::Pieces;
use jiff::tz::TimeZone;
use jiff::{Span, Zoned};
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

const TYPE: &str = "format_date_time";

/// RFC 3339, with fractional seconds only when there are some.
const RFC3339: &str = "%Y-%m-%dT%H:%M:%S%.f%:z";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: "Utilities",
    summary: "Parses a date-time (default now), adjusts it and formats it in strftime or .NET pattern syntax.",
    idempotent: true,
    properties: &["input", "input_format", "output_format", "syntax", "adjust", "timezone"],
    required: &[],
    publishes: &[
        "formatted",
        "formatted_unadjusted",
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "day_of_week",
    ],
};

pub struct FormatDateTime;

#[scorch_activity::async_trait]
impl Activity for FormatDateTime {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, _ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let dotnet = props.choice("syntax", &["strftime", "dotnet"], "strftime")? == "dotnet";
        // Both patterns in strftime syntax.
        let pattern = |name: &str| -> Result<Option<String>, ActivityError> {
            let Some(text) = props.opt_str(name)?.filter(|p| !p.is_empty()) else {
                return Ok(None);
            };
            let translated = if dotnet { dotnet_to_strftime(&text) } else { Ok(text) };
            translated
                .map(Some)
                .map_err(|why| ActivityError::invalid(TYPE, name, why))
        };
        let input_format = pattern("input_format")?;
        let output_format = pattern("output_format")?.unwrap_or_else(|| RFC3339.to_string());
        let timezone = match props.opt_str("timezone")?.filter(|name| !name.trim().is_empty()) {
            None => None,
            Some(name) => Some(
                TimeZone::get(name.trim())
                    .map_err(|_| ActivityError::invalid(TYPE, "timezone", format!("unknown time zone '{name}'")))?,
            ),
        };
        let time = match props.opt_str("input")?.filter(|text| !text.trim().is_empty()) {
            None => Zoned::now().with_time_zone(timezone.unwrap_or_else(TimeZone::system)),
            Some(text) => parse(text.trim(), input_format.as_deref(), timezone)
                .map_err(|why| ActivityError::invalid(TYPE, "input", format!("cannot read '{text}': {why}")))?,
        };
        let adjusted = adjust(&time, &props)?;
        let format = |time: &Zoned, pattern: &str| {
            strtime::format(pattern, time).map_err(|e| ActivityError::invalid(TYPE, "output_format", e))
        };
        Ok(ActivityOutput::row(row! {
            "formatted" => format(&adjusted, &output_format)?,
            "formatted_unadjusted" => format(&time, &output_format)?,
            "year" => adjusted.year(),
            "month" => adjusted.month(),
            "day" => adjusted.day(),
            "hour" => adjusted.hour(),
            "minute" => adjusted.minute(),
            "second" => adjusted.second(),
            "day_of_week" => format(&adjusted, "%A")?,
        }))
    }
}

/// `text` read with a strftime `format`, or as RFC 3339 without one. A time with an offset (or
/// zone) is that instant, shown in `timezone` when given; a civil time without one is taken to
/// be in `timezone`, else in the server's.
fn parse(text: &str, format: Option<&str>, timezone: Option<TimeZone>) -> Result<Zoned, jiff::Error> {
    match (read(text, format)?, timezone) {
        (Reading::Instant(time), Some(tz)) => Ok(time.with_time_zone(tz)),
        (Reading::Instant(time), None) => Ok(time),
        (Reading::Civil(civil), tz) => civil.to_zoned(tz.unwrap_or_else(TimeZone::system)),
    }
}

/// What an input says: an instant when it has an offset or a zone, a civil time otherwise.
enum Reading {
    Instant(Zoned),
    Civil(DateTime),
}

fn read(text: &str, format: Option<&str>) -> Result<Reading, jiff::Error> {
    if let Some(format) = format {
        let parsed = strtime::parse(format, text)?;
        let instant = parsed.offset().is_some() || parsed.iana_time_zone().is_some() || parsed.timestamp().is_some();
        return Ok(if instant {
            Reading::Instant(parsed.to_zoned()?)
        } else {
            Reading::Civil(parsed.to_datetime()?)
        });
    }
    // RFC 9557 adds a zone name: `2006-08-05T10:00:00+02:00[Europe/Paris]`.
    if let Ok(time) = text.parse::<Zoned>() {
        return Ok(Reading::Instant(time));
    }
    let pieces = Pieces::parse(text)?;
    let civil = pieces.date().to_datetime(pieces.time().unwrap_or(Time::midnight()));
    Ok(match pieces.to_numeric_offset() {
        Some(offset) => Reading::Instant(offset.to_timestamp(civil)?.to_zoned(offset.to_time_zone())),
        None => Reading::Civil(civil),
    })
}

/// `time` moved by `adjust: {days, hours, minutes, seconds}` (whole numbers, negative to go
/// back). Days are calendar days, so one day across a daylight saving change keeps the clock
/// time; the other units are exact. A jiff span has one sign, hence two steps.
fn adjust(time: &Zoned, props: &Props) -> Result<Zoned, ActivityError> {
    let invalid = |why: String| ActivityError::invalid(TYPE, "adjust", why);
    let (mut days, mut seconds) = (0i64, 0i64);
    for (unit, amount) in props.str_map("adjust")? {
        let n: i64 = amount
            .trim()
            .parse()
            .map_err(|_| invalid(format!("{unit}: '{amount}' is not a whole number")))?;
        let (total, scale) = match unit.as_str() {
            "days" => (&mut days, 1),
            "hours" => (&mut seconds, 3600),
            "minutes" => (&mut seconds, 60),
            "seconds" => (&mut seconds, 1),
            _ => {
                return Err(invalid(format!(
                    "unknown unit '{unit}' (use days, hours, minutes, seconds)"
                )));
            }
        };
        *total = n
            .checked_mul(scale)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(|| invalid(format!("{unit}: too large")))?;
    }
    let moved = Span::new()
        .try_days(days)
        .and_then(|span| time.checked_add(span))
        .and_then(|time| time.checked_add(Span::new().try_seconds(seconds)?));
    moved.map_err(|e| invalid(e.to_string()))
}

/// Translates a .NET custom date and time pattern (`MM/dd/yyyy hh:mm:ss tt`) to strftime.
/// Letters that are not specifiers, `'quoted'` or `"quoted"` text and `\`-escaped characters
/// are literal; `%` before a single specifier (`%d`) is dropped, as .NET does.
fn dotnet_to_strftime(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let literal = |out: &mut String, c: char| {
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
    };
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        if let Some(specifier) = dotnet_specifier(c, run) {
            out.push_str(specifier);
            i += run;
            continue;
        }
        match c {
            '\'' | '"' => {
                let len = chars[i + 1..]
                    .iter()
                    .position(|&x| x == c)
                    .ok_or(format!("unterminated {c} quote"))?;
                chars[i + 1..i + 1 + len].iter().for_each(|&q| literal(&mut out, q));
                i += len + 2;
            }
            '\\' => {
                let escaped = chars.get(i + 1).ok_or("a pattern cannot end with \\")?;
                literal(&mut out, *escaped);
                i += 2;
            }
            '%' => i += 1,
            c => {
                literal(&mut out, c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The strftime directive for `run` repetitions of the .NET specifier letter `c`.
fn dotnet_specifier(c: char, run: usize) -> Option<&'static str> {
    Some(match (c, run) {
        ('y', 1) => "%-y",
        ('y', 2) => "%y",
        ('y', _) => "%Y",
        ('M', 1) => "%-m",
        ('M', 2) => "%m",
        ('M', 3) => "%b",
        ('M', _) => "%B",
        ('d', 1) => "%-d",
        ('d', 2) => "%d",
        ('d', 3) => "%a",
        ('d', _) => "%A",
        ('h', 1) => "%-I",
        ('h', _) => "%I",
        ('H', 1) => "%-H",
        ('H', _) => "%H",
        ('m', 1) => "%-M",
        ('m', _) => "%M",
        ('s', 1) => "%-S",
        ('s', _) => "%S",
        // .NET writes only the first letter for a single `t`; `tt` is the usual form.
        ('t', _) => "%p",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::{Row, json};

    async fn format(properties: Value) -> Result<Row, ActivityError> {
        let ctx = ActivityContext::standalone(TYPE, std::env::temp_dir());
        let mut out = FormatDateTime.run(&ctx, properties).await?;
        Ok(out.rows.remove(0))
    }

    async fn formatted(properties: Value) -> String {
        format(properties).await.unwrap()["formatted"]
            .as_str()
            .unwrap()
            .to_string()
    }

    const SAMPLE: &str = "2006-08-05T15:05:15Z";

    #[tokio::test]
    async fn documented_dotnet_examples() {
        let examples = [
            ("MM/dd/yyyy hh:mm:ss tt", "08/05/2006 03:05:15 PM"),
            ("M/d/yy h:m:s tt", "8/5/06 3:5:15 PM"),
            ("ddd MMM dd yyyy", "Sat Aug 05 2006"),
            ("dddd, MMMM dd yyyy", "Saturday, August 05 2006"),
        ];
        for (pattern, want) in examples {
            let props = json!({"input": SAMPLE, "syntax": "dotnet", "output_format": pattern});
            assert_eq!(formatted(props).await, want, "{pattern}");
        }
    }

    #[test]
    fn dotnet_literals_and_errors() {
        assert_eq!(dotnet_to_strftime("yyyy-MM-ddTHH:mm:ss").unwrap(), "%Y-%m-%dT%H:%M:%S");
        assert_eq!(
            dotnet_to_strftime(r#"'Day' d "of" MMMM \y 100%d"#).unwrap(),
            "Day %-d of %B y 100%-d"
        );
        assert_eq!(dotnet_to_strftime("'50%'").unwrap(), "50%%");
        assert_eq!(dotnet_to_strftime("yyyy 'at").unwrap_err(), "unterminated ' quote");
        assert_eq!(dotnet_to_strftime("HH\\").unwrap_err(), "a pattern cannot end with \\");
    }

    #[tokio::test]
    async fn publishes_parts_and_the_unadjusted_result() {
        let props = json!({"input": "2006-08-05T15:05:15+02:00", "output_format": "%F %T %:z",
            "adjust": {"days": 1, "hours": "-2", "minutes": 10, "seconds": -15}});
        let row = format(props).await.unwrap();
        assert_eq!(row["formatted"], "2006-08-06 13:15:00 +02:00");
        assert_eq!(row["formatted_unadjusted"], "2006-08-05 15:05:15 +02:00");
        let parts: Vec<_> = ["year", "month", "day", "hour", "minute", "second"]
            .map(|k| row[k].clone())
            .into();
        assert_eq!(
            parts,
            vec![json!(2006), json!(8), json!(6), json!(13), json!(15), json!(0)]
        );
        assert_eq!(row["day_of_week"], "Sunday");
    }

    #[tokio::test]
    async fn input_formats_and_time_zones() {
        let dotnet = json!({"input": "08/05/2006 03:05:15 PM", "input_format": "MM/dd/yyyy hh:mm:ss tt",
            "syntax": "dotnet", "output_format": "yyyy-MM-dd HH:mm:ss", "timezone": "UTC"});
        assert_eq!(formatted(dotnet).await, "2006-08-05 15:05:15");
        let strftime = json!({"input": "05.08.2006 15:05", "input_format": "%d.%m.%Y %H:%M", "timezone": "UTC"});
        assert_eq!(formatted(strftime).await, "2006-08-05T15:05:00+00:00");
        let named = json!({"input": "2006-08-05T10:00:00[Europe/Paris]", "output_format": "%T %:z %Q"});
        assert_eq!(formatted(named).await, "10:00:00 +02:00 Europe/Paris");
        let converted = json!({"input": SAMPLE, "timezone": "America/New_York"});
        assert_eq!(formatted(converted).await, "2006-08-05T11:05:15-04:00");
        // A calendar day across the spring-forward change keeps the clock time.
        let dst = json!({"input": "2024-03-09T12:00:00", "timezone": "America/New_York", "adjust": {"days": 1}});
        assert_eq!(formatted(dst).await, "2024-03-10T12:00:00-04:00");
    }

    #[tokio::test]
    async fn defaults_to_now() {
        let year = format(json!({"timezone": "UTC"})).await.unwrap()["year"]
            .as_i64()
            .unwrap();
        assert_eq!(year, i64::from(jiff::Timestamp::now().to_zoned(TimeZone::UTC).year()));
    }

    #[tokio::test]
    async fn bad_input_zone_or_adjustment_is_invalid() {
        let cases = [
            (
                json!({"input": "yesterday"}),
                "format_date_time: property 'input': cannot read 'yesterday': ",
            ),
            (
                json!({"input": "5/8/2006", "input_format": "%Y-%m-%d"}),
                "format_date_time: property 'input': ",
            ),
            (
                json!({"timezone": "Mars/Olympus"}),
                "format_date_time: property 'timezone': unknown time zone 'Mars/Olympus'",
            ),
            (
                json!({"adjust": {"weeks": 1}}),
                "format_date_time: property 'adjust': unknown unit 'weeks'",
            ),
            (
                json!({"adjust": {"days": "1.5"}}),
                "format_date_time: property 'adjust': days: '1.5' is not a whole number",
            ),
            (
                json!({"output_format": "%Q%"}),
                "format_date_time: property 'output_format': ",
            ),
            (
                json!({"syntax": "dotnet", "output_format": "'x"}),
                "format_date_time: property 'output_format': unterminated",
            ),
        ];
        for (props, want) in cases {
            let err = format(props.clone()).await.unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, ActivityError::InvalidInput(_)) && text.starts_with(want),
                "{props}: {text}"
            );
            assert!(!text.contains('\n'), "{text}");
        }
    }
}
