//! Schedules (global settings): when runbooks may start and monitors may fire.
//! `spec/runbook-format.md`, "Schedules and computer groups"; `docs/schedules.md`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// At most this many hour ranges in all (a definition is a few lines, read on every check).
pub const MAX_RANGES: usize = 100;
/// At most this many exception dates (some years of holidays).
pub const MAX_EXCEPTIONS: usize = 500;
/// At most this many items in one list of days or occurrences.
const MAX_ITEMS: usize = 100;

const KEYS: [&str; 6] = [
    "days_of_week",
    "days_of_month",
    "occurrence",
    "hours",
    "exceptions",
    "timezone",
];
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const OCCURRENCES: [&str; 4] = ["first", "second", "third", "fourth"];
const MINUTES_PER_DAY: u16 = 24 * 60;

/// A checked schedule definition. It serializes back to the definition it was read from.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The definition as given, written back unchanged.
    definition: Value,
    days: Days,
    hours: Hours,
    /// Date -> allowed (`allow`) or not (`deny`), whatever the rest says.
    exceptions: BTreeMap<Date, bool>,
    zone: TimeZone,
}

/// Which days are permitted, before hours and exceptions.
#[derive(Debug, Clone)]
enum Days {
    Every,
    /// Indexed by days from Monday; `occurrences` empty: every such day of the month.
    OfWeek {
        days: [bool; 7],
        occurrences: Vec<Occurrence>,
    },
    /// Indexed by day of month (0 unused); `last`: the month's last day too.
    OfMonth {
        days: [bool; 32],
        last: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Occurrence {
    /// 1..=4: the first..fourth such weekday of the month.
    Nth(i8),
    Last,
}

/// Permitted hours; `None` for a day: the whole day.
#[derive(Debug, Clone, Default)]
struct Hours {
    all: Option<Vec<Range>>,
    by_day: [Option<Vec<Range>>; 7],
}

/// Minutes of the day, end excluded; `start > end` crosses midnight into the next day.
#[derive(Debug, Clone, Copy)]
struct Range {
    start: u16,
    end: u16,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.definition == other.definition
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.definition.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Schedule::from_value(&value).map_err(serde::de::Error::custom)
    }
}

impl Schedule {
    /// Reads and checks a definition; the error names the key and what is wrong with it.
    pub fn from_value(value: &Value) -> Result<Schedule, String> {
        let map = value
            .as_object()
            .ok_or_else(|| format!("a schedule must be a mapping of {}", KEYS.join(", ")))?;
        if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!("unknown key '{key}': expected {}", KEYS.join(", ")));
        }
        let get = |key: &str| map.get(key).filter(|v| !v.is_null());
        let in_key = |key: &'static str| move |e: String| format!("{key}: {e}");

        let days = match (get("days_of_week"), get("days_of_month")) {
            (Some(_), Some(_)) => return Err("give days_of_week or days_of_month, not both".into()),
            (Some(week), None) => Days::OfWeek {
                days: weekdays(week).map_err(in_key("days_of_week"))?,
                occurrences: get("occurrence")
                    .map(occurrences)
                    .transpose()
                    .map_err(in_key("occurrence"))?
                    .unwrap_or_default(),
            },
            (None, month) => {
                if get("occurrence").is_some() {
                    return Err("occurrence: only with days_of_week".into());
                }
                match month {
                    Some(month) => month_days(month).map_err(in_key("days_of_month"))?,
                    None => Days::Every,
                }
            }
        };
        let hours = get("hours").map(hours).transpose().map_err(in_key("hours"))?;
        let exceptions = get("exceptions")
            .map(exceptions)
            .transpose()
            .map_err(in_key("exceptions"))?;
        let zone = match get("timezone") {
            None => TimeZone::UTC,
            Some(Value::String(name)) => {
                TimeZone::get(name).map_err(|_| format!("timezone: unknown time zone '{name}' (an IANA name)"))?
            }
            Some(other) => return Err(format!("timezone: expected an IANA name, got {other}")),
        };
        Ok(Schedule {
            definition: value.clone(),
            days,
            hours: hours.unwrap_or_default(),
            exceptions: exceptions.unwrap_or_default(),
            zone,
        })
    }

    /// Whether `at` falls within the schedule, in its time zone. An exception decides its whole
    /// date; a range that crosses midnight continues on the day after a permitted day.
    pub fn conforms(&self, at: Timestamp) -> bool {
        let local = self.zone.to_datetime(at);
        let date = local.date();
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        if let Some(&allowed) = self.exceptions.get(&date) {
            return allowed;
        }
        let today = self.permits_day(date)
            && self
                .hours
                .of(date.weekday())
                .is_none_or(|ranges| ranges.iter().any(|r| r.holds_from_start(minute)));
        today
            || date.yesterday().is_ok_and(|eve| {
                self.permits_day(eve)
                    && self
                        .hours
                        .of(eve.weekday())
                        .is_some_and(|ranges| ranges.iter().any(|r| r.holds_after_midnight(minute)))
            })
    }

    fn permits_day(&self, date: Date) -> bool {
        if let Some(&allowed) = self.exceptions.get(&date) {
            return allowed;
        }
        match &self.days {
            Days::Every => true,
            Days::OfWeek { days, occurrences } => {
                days[weekday_index(date.weekday())]
                    && (occurrences.is_empty() || occurrences.iter().any(|o| o.holds(date)))
            }
            Days::OfMonth { days, last } => days[date.day() as usize] || (*last && date.day() == date.days_in_month()),
        }
    }
}

impl Occurrence {
    fn holds(self, date: Date) -> bool {
        match self {
            Occurrence::Nth(n) => (date.day() - 1) / 7 + 1 == n,
            Occurrence::Last => date.day() + 7 > date.days_in_month(),
        }
    }
}

impl Hours {
    fn of(&self, day: Weekday) -> Option<&[Range]> {
        self.by_day[weekday_index(day)].as_deref().or(self.all.as_deref())
    }
}

impl Range {
    /// Holds at `minute` of the day the range starts on.
    fn holds_from_start(self, minute: u16) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start
        }
    }

    /// Holds at `minute` of the day after (a range that crosses midnight).
    fn holds_after_midnight(self, minute: u16) -> bool {
        self.start > self.end && minute < self.end
    }
}

fn weekday_index(day: Weekday) -> usize {
    day.to_monday_zero_offset() as usize
}

/// Items of a list (`[mon, tue]`), of comma-separated text (`mon,tue`) or of a single number.
fn items(value: &Value) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut add = |v: &Value| match v {
        Value::String(s) => {
            out.extend(s.split(',').map(|i| i.trim().to_ascii_lowercase()));
            Ok(())
        }
        Value::Number(n) => {
            out.push(n.to_string());
            Ok(())
        }
        other => Err(format!("expected text or a number, got {other}")),
    };
    match value {
        Value::Array(list) => list.iter().try_for_each(&mut add)?,
        single => add(single)?,
    }
    if out.len() > MAX_ITEMS {
        return Err(format!("at most {MAX_ITEMS} items"));
    }
    if out.iter().any(String::is_empty) {
        return Err("an empty item".into());
    }
    Ok(out)
}

fn weekdays(value: &Value) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    for item in items(value)? {
        let index = WEEKDAYS
            .iter()
            .position(|d| *d == item)
            .ok_or_else(|| format!("'{item}' is not a day: expected {}", WEEKDAYS.join(", ")))?;
        days[index] = true;
    }
    Ok(days)
}

fn occurrences(value: &Value) -> Result<Vec<Occurrence>, String> {
    items(value)?
        .into_iter()
        .map(|item| match OCCURRENCES.iter().position(|o| *o == item) {
            Some(i) => Ok(Occurrence::Nth(i as i8 + 1)),
            None if item == "last" => Ok(Occurrence::Last),
            None => Err(format!(
                "'{item}' is not an occurrence: expected first, second, third, fourth or last"
            )),
        })
        .collect()
}

fn month_days(value: &Value) -> Result<Days, String> {
    let mut days = [false; 32];
    let mut last = false;
    for item in items(value)? {
        match item.as_str() {
            "all" => days[1..].fill(true),
            "last" => last = true,
            _ => {
                let day = |text: &str| {
                    text.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|d| (1..=31).contains(d))
                        .ok_or_else(|| format!("'{item}' is not a day of the month: expected 1..31, A-B, all or last"))
                };
                let (from, to) = match item.split_once('-') {
                    Some((a, b)) => (day(a)?, day(b)?),
                    None => (day(&item)?, day(&item)?),
                };
                if from > to {
                    return Err(format!("'{item}': a range goes from the lower day to the higher"));
                }
                days[from..=to].fill(true);
            }
        }
    }
    Ok(Days::OfMonth { days, last })
}

fn hours(value: &Value) -> Result<Hours, String> {
    let mut hours = Hours::default();
    let mut count = 0;
    let mut ranges = |v: &Value| -> Result<Vec<Range>, String> {
        let list = items(v)?.iter().map(|t| range(t)).collect::<Result<Vec<_>, _>>()?;
        count += list.len();
        if count > MAX_RANGES {
            return Err(format!("at most {MAX_RANGES} ranges"));
        }
        Ok(list)
    };
    match value {
        Value::Object(by_day) => {
            for (day, list) in by_day {
                let parsed = ranges(list).map_err(|e| format!("{day}: {e}"))?;
                if day == "all" {
                    hours.all = Some(parsed);
                } else {
                    let index = WEEKDAYS
                        .iter()
                        .position(|d| d == day)
                        .ok_or_else(|| format!("'{day}' is not a day: expected {} or all", WEEKDAYS.join(", ")))?;
                    hours.by_day[index] = Some(parsed);
                }
            }
        }
        // An empty list permits no hours at all; leave `hours` out for the whole day.
        Value::Array(list) if list.is_empty() => hours.all = Some(Vec::new()),
        list => hours.all = Some(ranges(list)?),
    }
    Ok(hours)
}

/// `08:00-18:00`; `24:00` may end a range; `22:00-06:00` crosses midnight.
fn range(text: &str) -> Result<Range, String> {
    let bad = || format!("'{text}' is not a range of hours like 08:00-18:00");
    let minute = |t: &str| -> Option<u16> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && h * 60 + m <= MINUTES_PER_DAY).then_some(h * 60 + m)
    };
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    let (start, end) = (minute(start).ok_or_else(bad)?, minute(end).ok_or_else(bad)?);
    if start == end || start == MINUTES_PER_DAY {
        return Err(format!("'{text}' is empty: leave hours out for the whole day"));
    }
    Ok(Range {
        start,
        end: if end == 0 { MINUTES_PER_DAY } else { end },
    })
}

fn exceptions(value: &Value) -> Result<BTreeMap<Date, bool>, String> {
    let pairs: Vec<(String, &Value)> = match value {
        Value::Array(list) => list.iter().map(exception_entry).collect::<Result<_, String>>()?,
        Value::Object(map) => map.iter().map(|(date, rule)| (date.clone(), rule)).collect(),
        other => {
            return Err(format!(
                "expected a list of {{date, rule}} or a mapping DATE: rule, got {other}"
            ));
        }
    };
    if pairs.len() > MAX_EXCEPTIONS {
        return Err(format!("at most {MAX_EXCEPTIONS} dates"));
    }
    let mut out = BTreeMap::new();
    for (text, rule) in pairs {
        let date: Date = text
            .parse()
            .map_err(|_| format!("'{text}' is not a date like 2026-12-25"))?;
        let allowed = match rule.as_str() {
            Some("allow") => true,
            Some("deny") => false,
            _ => return Err(format!("{text}: the rule must be allow or deny, not {rule}")),
        };
        if out.insert(date, allowed).is_some() {
            return Err(format!("{text} is listed twice"));
        }
    }
    Ok(out)
}

/// `{date: 2026-12-25, rule: deny}`.
fn exception_entry(entry: &Value) -> Result<(String, &Value), String> {
    let bad = || format!("expected {{date, rule}}, got {entry}");
    let map = entry.as_object().filter(|e| e.len() == 2).ok_or_else(bad)?;
    match (map.get("date").and_then(Value::as_str), map.get("rule")) {
        (Some(date), Some(rule)) => Ok((date.to_string(), rule)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schedule(definition: Value) -> Schedule {
        Schedule::from_value(&definition).unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn error(definition: Value) -> String {
        Schedule::from_value(&definition).unwrap_err()
    }

    #[test]
    fn weekdays_and_hours_in_the_schedules_zone() {
        let s = schedule(json!({
            "days_of_week": ["mon", "tue", "wed", "thu", "fri"],
            "hours": ["08:00-18:00"],
            "timezone": "Europe/Paris"
        }));
        // 2026-01-05 is a Monday; Paris is UTC+1 in winter.
        assert!(s.conforms(at("2026-01-05T07:00:00Z")));
        assert!(!s.conforms(at("2026-01-05T06:59:59Z")));
        assert!(s.conforms(at("2026-01-05T16:59:59Z")));
        assert!(!s.conforms(at("2026-01-05T17:00:00Z")));
        assert!(!s.conforms(at("2026-01-10T10:00:00Z")), "a Saturday");
        // Summer: UTC+2.
        assert!(s.conforms(at("2026-07-06T06:00:00Z")));
    }

    #[test]
    fn no_days_and_no_hours_is_always() {
        let s = schedule(json!({}));
        assert!(s.conforms(at("2026-02-28T23:59:59Z")));
    }

    #[test]
    fn days_of_month_with_ranges_and_last() {
        let s = schedule(json!({"days_of_month": "1,3, 10-12, last"}));
        for day in [
            "2026-02-01",
            "2026-02-03",
            "2026-02-10",
            "2026-02-12",
            "2026-02-28",
            "2024-02-29",
        ] {
            assert!(s.conforms(at(&format!("{day}T12:00:00Z"))), "{day}");
        }
        for day in ["2026-02-02", "2026-02-13", "2026-02-27", "2024-02-28"] {
            assert!(!s.conforms(at(&format!("{day}T12:00:00Z"))), "{day}");
        }
        assert!(schedule(json!({"days_of_month": 15})).conforms(at("2026-03-15T00:00:00Z")));
        assert!(schedule(json!({"days_of_month": "all"})).conforms(at("2026-03-16T00:00:00Z")));
    }

    #[test]
    fn occurrences_of_a_weekday() {
        let s = schedule(json!({"days_of_week": "fri", "occurrence": ["first", "last"]}));
        // Fridays of May 2026: 1, 8, 15, 22, 29.
        assert!(s.conforms(at("2026-05-01T12:00:00Z")));
        assert!(s.conforms(at("2026-05-29T12:00:00Z")));
        assert!(!s.conforms(at("2026-05-08T12:00:00Z")));
        assert!(!s.conforms(at("2026-05-22T12:00:00Z")));
        let fourth = schedule(json!({"days_of_week": ["fri"], "occurrence": "fourth"}));
        assert!(fourth.conforms(at("2026-05-22T12:00:00Z")));
    }

    #[test]
    fn a_range_crossing_midnight_continues_after_a_permitted_day() {
        let s = schedule(json!({"days_of_week": ["fri"], "hours": ["22:00-06:00"]}));
        // Friday 2026-01-09 22:00 to Saturday 06:00.
        assert!(s.conforms(at("2026-01-09T23:00:00Z")));
        assert!(s.conforms(at("2026-01-10T05:59:00Z")));
        assert!(!s.conforms(at("2026-01-10T06:00:00Z")));
        assert!(
            !s.conforms(at("2026-01-10T23:00:00Z")),
            "Saturday is not a permitted day"
        );
        assert!(
            !s.conforms(at("2026-01-09T05:00:00Z")),
            "Thursday's night is not permitted"
        );
    }

    #[test]
    fn hours_per_day_with_all_as_the_default() {
        let s = schedule(json!({"hours": {"sat": ["10:00-12:00"], "all": ["08:00-18:00", "20:00-24:00"]}}));
        assert!(s.conforms(at("2026-01-10T11:00:00Z")), "Saturday");
        assert!(!s.conforms(at("2026-01-10T09:00:00Z")), "Saturday");
        assert!(s.conforms(at("2026-01-12T09:00:00Z")), "Monday");
        assert!(s.conforms(at("2026-01-12T23:59:00Z")), "Monday");
        assert!(!s.conforms(at("2026-01-12T19:00:00Z")), "Monday");
        let only_sunday = schedule(json!({"hours": {"sun": ["00:00-24:00"], "all": []}}));
        assert!(only_sunday.conforms(at("2026-01-11T03:00:00Z")));
        assert!(!only_sunday.conforms(at("2026-01-12T03:00:00Z")));
    }

    #[test]
    fn exceptions_win_in_both_forms() {
        let listed = schedule(json!({
            "days_of_week": ["mon"],
            "hours": ["08:00-09:00"],
            "exceptions": [{"date": "2026-01-05", "rule": "deny"}, {"date": "2026-01-10", "rule": "allow"}]
        }));
        let mapped = schedule(json!({
            "days_of_week": ["mon"],
            "hours": ["08:00-09:00"],
            "exceptions": {"2026-01-05": "deny", "2026-01-10": "allow"}
        }));
        for s in [listed, mapped] {
            assert!(!s.conforms(at("2026-01-05T08:30:00Z")), "a denied Monday");
            assert!(s.conforms(at("2026-01-12T08:30:00Z")), "the next Monday");
            assert!(s.conforms(at("2026-01-10T15:00:00Z")), "an allowed Saturday, any hour");
        }
    }

    #[test]
    fn serializes_back_to_the_definition() {
        let definition = json!({
            "days_of_week": ["mon", "fri"],
            "occurrence": ["last"],
            "hours": {"mon": ["08:00-12:00"], "all": ["09:00-17:00"]},
            "exceptions": [{"date": "2026-12-25", "rule": "deny"}],
            "timezone": "America/New_York"
        });
        let s: Schedule = serde_json::from_value(definition.clone()).unwrap();
        assert_eq!(serde_json::to_value(&s).unwrap(), definition);
        assert_eq!(s, schedule(definition));
    }

    #[test]
    fn errors_name_the_key_and_the_fault() {
        let cases = [
            (json!({"days": ["mon"]}), "unknown key 'days'"),
            (
                json!({"days_of_week": ["monday"]}),
                "days_of_week: 'monday' is not a day",
            ),
            (json!({"days_of_week": ["mon"], "days_of_month": "1"}), "not both"),
            (
                json!({"days_of_month": "0"}),
                "days_of_month: '0' is not a day of the month",
            ),
            (
                json!({"days_of_month": "21-1"}),
                "days_of_month: '21-1': a range goes from the lower",
            ),
            (
                json!({"days_of_month": "1", "occurrence": "last"}),
                "occurrence: only with days_of_week",
            ),
            (
                json!({"days_of_week": "mon", "occurrence": "fifth"}),
                "occurrence: 'fifth' is not an occurrence",
            ),
            (json!({"hours": ["8-18"]}), "hours: '8-18' is not a range of hours"),
            (json!({"hours": ["25:00-26:00"]}), "hours: '25:00-26:00' is not a range"),
            (json!({"hours": ["08:00-08:00"]}), "hours: '08:00-08:00' is empty"),
            (
                json!({"hours": {"someday": ["08:00-09:00"]}}),
                "hours: 'someday' is not a day",
            ),
            (json!({"hours": {"mon": ["x"]}}), "hours: mon: 'x' is not a range"),
            (
                json!({"exceptions": {"2026-13-01": "deny"}}),
                "exceptions: '2026-13-01' is not a date",
            ),
            (
                json!({"exceptions": {"2026-12-01": "maybe"}}),
                "exceptions: 2026-12-01: the rule must be allow or deny",
            ),
            (
                json!({"exceptions": [{"date": "2026-12-01"}]}),
                "exceptions: expected {date, rule}",
            ),
            (
                json!({"exceptions": [{"date": "2026-12-01", "rule": "deny"}, {"date": "2026-12-01", "rule": "allow"}]}),
                "exceptions: 2026-12-01 is listed twice",
            ),
            (
                json!({"timezone": "Mars/Olympus"}),
                "timezone: unknown time zone 'Mars/Olympus'",
            ),
            (json!(["mon"]), "a schedule must be a mapping"),
        ];
        for (definition, expected) in cases {
            let e = error(definition.clone());
            assert!(e.contains(expected), "{definition}: {e}");
        }
    }

    #[test]
    fn sizes_are_bounded() {
        let ranges: Vec<String> = (0..=MAX_RANGES).map(|_| "08:00-09:00".to_string()).collect();
        assert!(error(json!({"hours": ranges})).contains("at most 100"));
        let dates: serde_json::Map<String, Value> = (0..=MAX_EXCEPTIONS as i64)
            .map(|i| {
                let day = jiff::civil::date(2026, 1, 1)
                    .checked_add(jiff::Span::new().days(i))
                    .unwrap();
                (day.to_string(), json!("deny"))
            })
            .collect();
        assert!(error(json!({"exceptions": dates})).starts_with("exceptions: at most"));
    }
}
