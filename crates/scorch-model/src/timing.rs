//! When `monitor_date_time` fires (`spec/activities.md`, "Monitoring and scheduling";
//! `docs/schedules.md`): an interval, a cron expression or a daily time, in a time zone, and what
//! to do about times that passed while no server held the monitor.
//!
//! Cron is parsed here on jiff rather than taken from a crate: `croner` and `cron` work on
//! chrono (a second time-zone database beside jiff's), and `jiff-cron` (a port of `cron`)
//! requires seconds, numbers weekdays from 1 and ANDs day-of-month with day-of-week, where
//! crontab users expect 5 fields, Sunday as 0 and the OR rule. The search below is small.

use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::duration::parse_duration;

/// `missed: all` fires at most this many of the missed times (the latest), and at most this
/// many missed times are listed.
pub const MAX_CATCH_UP: usize = 100;

/// A scheduled time that passed less than this long ago is on time, not missed: the sleep's
/// wake-up, a restart or a takeover late by seconds still fires it under `missed: skip`.
pub const ON_TIME: SignedDuration = SignedDuration::from_secs(60);

/// How far the calendar search looks: 8 years holds every Feb 29 and every weekday of a date.
const SEARCH_DAYS: usize = 8 * 366 + 7;
const SECONDS_PER_DAY: u32 = 24 * 3600;

#[derive(Debug, Clone, PartialEq)]
pub enum Timing {
    /// Each time the previous scheduled time plus this (no drift).
    Every(SignedDuration),
    /// The local times `cron` matches in `zone` (`at` is the cron `0 M H * * *`).
    Calendar { cron: Cron, zone: TimeZone },
}

/// What to do with scheduled times that passed unfired (`missed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// Fire none of them (the latest still fires when it is on time).
    Skip,
    /// Fire the latest of them, once.
    Once,
    /// Fire each, at most [`MAX_CATCH_UP`] (the latest).
    All,
}

impl FromStr for Missed {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "skip" => Ok(Missed::Skip),
            "once" => Ok(Missed::Once),
            "all" => Ok(Missed::All),
            other => Err(format!("missed: '{other}' must be skip, once or all")),
        }
    }
}

impl std::fmt::Display for Missed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Missed::Skip => "skip",
            Missed::Once => "once",
            Missed::All => "all",
        })
    }
}

/// What a monitor does now: the decision of [`plan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Times to fire now, oldest first.
    pub fire: Vec<Timestamp>,
    /// Passed times not fired, oldest first; at most [`MAX_CATCH_UP`].
    pub missed: Vec<Timestamp>,
    /// More times passed unfired before those listed.
    pub more_missed: bool,
    /// The new checkpoint: the latest scheduled time fired or passed.
    pub last: Timestamp,
}

/// Decides what to fire at `now`. `last`: the checkpoint (the latest scheduled time fired or
/// passed); `None` the first time, when the schedule starts at `now` (whole second) and fires at
/// once only with `trigger_immediately`.
pub fn plan(
    timing: &Timing,
    last: Option<Timestamp>,
    now: Timestamp,
    missed: Missed,
    trigger_immediately: bool,
) -> Plan {
    let Some(last) = last else {
        let start = Timestamp::from_second(now.as_second()).unwrap_or(now);
        return Plan {
            fire: if trigger_immediately { vec![start] } else { Vec::new() },
            missed: Vec::new(),
            more_missed: false,
            last: start,
        };
    };
    // Passed times, newest first; two past the cap tells whether more were left unlisted.
    let mut passed = Vec::new();
    let mut cursor = Some(now);
    while let Some(t) = cursor.and_then(|c| timing.at_or_before(c, last)).filter(|t| *t > last) {
        passed.push(t);
        cursor = t.checked_sub(SignedDuration::from_nanos(1)).ok();
        if passed.len() == MAX_CATCH_UP + 2 {
            break;
        }
    }
    let unlisted = passed.len() == MAX_CATCH_UP + 2
        && cursor
            .and_then(|c| timing.at_or_before(c, last))
            .is_some_and(|t| t > last);
    let Some(&latest) = passed.first() else {
        return Plan {
            fire: Vec::new(),
            missed: Vec::new(),
            more_missed: false,
            last,
        };
    };
    let fired = match missed {
        Missed::All => passed.len().min(MAX_CATCH_UP),
        Missed::Once => 1,
        Missed::Skip => usize::from(now.duration_since(latest) < ON_TIME),
    };
    let mut rest = passed.split_off(fired);
    let more_missed = unlisted || rest.len() > MAX_CATCH_UP;
    rest.truncate(MAX_CATCH_UP);
    passed.reverse();
    rest.reverse();
    Plan {
        fire: passed,
        missed: rest,
        more_missed,
        last: latest,
    }
}

impl Timing {
    /// Reads the properties of `monitor_date_time`: one of `every`, `cron`, `at`; `timezone`
    /// (UTC by default). The error names the property.
    pub fn parse(
        every: Option<&str>,
        cron: Option<&str>,
        at: Option<&str>,
        timezone: Option<&str>,
    ) -> Result<Timing, String> {
        let zone = match timezone {
            None => TimeZone::UTC,
            Some(name) => {
                TimeZone::get(name).map_err(|_| format!("timezone: unknown time zone '{name}' (an IANA name)"))?
            }
        };
        let timing = match (every, cron, at) {
            (Some(every), None, None) => {
                let step = parse_duration(every).map_err(|e| format!("every: {e}"))?;
                if step < std::time::Duration::from_secs(1) {
                    return Err(format!("every: '{every}' is less than 1s"));
                }
                Timing::Every(SignedDuration::try_from(step).map_err(|_| format!("every: '{every}' is too long"))?)
            }
            (None, Some(cron), None) => Timing::Calendar {
                cron: Cron::parse(cron).map_err(|e| format!("cron: {e}"))?,
                zone,
            },
            (None, None, Some(at)) => Timing::Calendar {
                cron: Cron::daily(at).map_err(|e| format!("at: {e}"))?,
                zone,
            },
            _ => return Err("give exactly one of every, cron or at".into()),
        };
        if let Timing::Calendar { cron, .. } = &timing
            && cron.next_civil(DateTime::MIN).is_none()
        {
            return Err(format!("cron: '{}' never matches a date", cron.text));
        }
        Ok(timing)
    }

    /// The first scheduled time after `t` (for `every`, `t` is the previous scheduled time).
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        match self {
            Timing::Every(step) => t.checked_add(*step).ok(),
            Timing::Calendar { cron, zone } => {
                // Local times map to instants in order (a gap's to its end, a fold's to its
                // first pass), so the first match after `t`'s local time whose instant is after
                // `t` is the next; a fold's second pass skips the times its first pass fired.
                let mut local = zone.to_datetime(t);
                loop {
                    local = cron.next_civil(local)?;
                    let at = instant(zone, local)?;
                    if at > t {
                        return Some(at);
                    }
                }
            }
        }
    }

    /// The latest scheduled time at or before `t`; `anchor` is a scheduled time `every` counts
    /// from (`None` when `t` is before it).
    pub fn at_or_before(&self, t: Timestamp, anchor: Timestamp) -> Option<Timestamp> {
        match self {
            Timing::Every(step) => {
                let elapsed = t.as_nanosecond() - anchor.as_nanosecond();
                if elapsed < 0 {
                    return None;
                }
                let step = step.as_nanos();
                Timestamp::from_nanosecond(anchor.as_nanosecond() + elapsed / step * step).ok()
            }
            Timing::Calendar { cron, zone } => {
                // In a fold's second pass, the first pass's later local times (already passed)
                // count too: search back from `t`'s local time with the earlier offset, passing
                // over the local times after the fold that this reaches.
                let mut local = match zone.to_ambiguous_timestamp(zone.to_datetime(t)).offset() {
                    AmbiguousOffset::Fold { before, .. } => before.to_datetime(t),
                    _ => zone.to_datetime(t),
                };
                loop {
                    local = cron.prev_civil(local)?;
                    let at = instant(zone, local)?;
                    if at <= t {
                        return Some(at);
                    }
                    local = local.checked_sub(SignedDuration::from_secs(1)).ok()?;
                }
            }
        }
    }
}

/// The instant of a matched local time: a time in a gap (spring forward) is the gap's end, the
/// first instant after it; a repeated time (fall back) its first occurrence.
fn instant(zone: &TimeZone, local: DateTime) -> Option<Timestamp> {
    match zone.to_ambiguous_timestamp(local).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(local).ok(),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(local).ok(),
        AmbiguousOffset::Gap { after, .. } => {
            let before_gap = after.to_timestamp(local).ok()?;
            zone.following(before_gap)
                .next()
                .map(|transition| transition.timestamp())
        }
    }
}

/// A cron expression: `MIN HOUR DOM MON DOW`, or with `SEC` first. Each field: `*`, `?` (days),
/// a value, `A-B`, a list `A,B`, a step `*/N` `A-B/N` `A/N`; months `jan`..`dec`, weekdays
/// `sun`..`sat` or 0..7 (0 and 7: Sunday). When both day fields are restricted (neither starts
/// with `*` or `?`) a day matching either fires, as crontab does.
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    text: String,
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    either_day: bool,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const SECOND: Field = Field {
    name: "second",
    min: 0,
    max: 59,
    names: &[],
};
const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY: Field = Field {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const WEEKDAY: Field = Field {
    name: "day of week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => {
                return Err(format!(
                    "'{text}' has {n} fields: expected 5 (minute hour day month weekday) or 6 (seconds first)"
                ));
            }
        };
        let star = |f: &str| f.starts_with('*') || f.starts_with('?');
        let weekdays = field(rest[4], &WEEKDAY, true)?;
        Ok(Cron {
            text: text.to_string(),
            seconds: field(seconds, &SECOND, false)?,
            minutes: field(rest[0], &MINUTE, false)?,
            hours: field(rest[1], &HOUR, false)?,
            days: field(rest[2], &DAY, true)?,
            months: field(rest[3], &MONTH, false)?,
            // 7 is Sunday too.
            weekdays: (weekdays | weekdays >> 7) & 0x7f,
            either_day: !star(rest[2]) && !star(rest[4]),
        })
    }

    /// `HH:MM`, every day.
    fn daily(at: &str) -> Result<Cron, String> {
        let bad = || format!("'{at}' is not a time of day like 08:30");
        let (hour, minute) = at.trim().split_once(':').ok_or_else(bad)?;
        let (hour, minute): (u32, u32) = (hour.parse().map_err(|_| bad())?, minute.parse().map_err(|_| bad())?);
        if hour > 23 || minute > 59 || at.trim().len() > 5 {
            return Err(bad());
        }
        Cron::parse(&format!("0 {minute} {hour} * * *"))
    }

    fn date_matches(&self, date: Date) -> bool {
        let day = has(self.days, date.day() as u32);
        let weekday = has(self.weekdays, date.weekday().to_sunday_zero_offset() as u32);
        has(self.months, date.month() as u32)
            && if self.either_day {
                day || weekday
            } else {
                day && weekday
            }
    }

    /// The first matching local time strictly after `after` (whole seconds).
    fn next_civil(&self, after: DateTime) -> Option<DateTime> {
        let mut date = after.date();
        let mut from = second_of_day(after.time()) + 1;
        for _ in 0..SEARCH_DAYS {
            if from < SECONDS_PER_DAY
                && self.date_matches(date)
                && let Some(time) = self.time_from(from)
            {
                return Some(date.to_datetime(time));
            }
            date = date.tomorrow().ok()?;
            from = 0;
        }
        None
    }

    /// The last matching local time at or before `at`.
    fn prev_civil(&self, at: DateTime) -> Option<DateTime> {
        let mut date = at.date();
        let mut upto = second_of_day(at.time());
        for _ in 0..SEARCH_DAYS {
            if self.date_matches(date)
                && let Some(time) = self.time_upto(upto)
            {
                return Some(date.to_datetime(time));
            }
            date = date.yesterday().ok()?;
            upto = SECONDS_PER_DAY - 1;
        }
        None
    }

    /// The first matching time of day at or after second `from`.
    fn time_from(&self, from: u32) -> Option<Time> {
        let (h0, m0, s0) = (from / 3600, from / 60 % 60, from % 60);
        for h in (h0..24).filter(|h| has(self.hours, *h)) {
            let m_from = if h == h0 { m0 } else { 0 };
            for m in (m_from..60).filter(|m| has(self.minutes, *m)) {
                let s_from = if h == h0 && m == m0 { s0 } else { 0 };
                if let Some(s) = (s_from..60).find(|s| has(self.seconds, *s)) {
                    return time(h, m, s);
                }
            }
        }
        None
    }

    /// The last matching time of day at or before second `upto`.
    fn time_upto(&self, upto: u32) -> Option<Time> {
        let (h0, m0, s0) = (upto / 3600, upto / 60 % 60, upto % 60);
        for h in (0..=h0).rev().filter(|h| has(self.hours, *h)) {
            let m_upto = if h == h0 { m0 } else { 59 };
            for m in (0..=m_upto).rev().filter(|m| has(self.minutes, *m)) {
                let s_upto = if h == h0 && m == m0 { s0 } else { 59 };
                if let Some(s) = (0..=s_upto).rev().find(|s| has(self.seconds, *s)) {
                    return time(h, m, s);
                }
            }
        }
        None
    }
}

fn has(bits: u64, n: u32) -> bool {
    bits & (1 << n) != 0
}

fn second_of_day(t: Time) -> u32 {
    t.hour() as u32 * 3600 + t.minute() as u32 * 60 + t.second() as u32
}

fn time(h: u32, m: u32, s: u32) -> Option<Time> {
    Time::new(h as i8, m as i8, s as i8, 0).ok()
}

/// One field's matching values as bits.
fn field(text: &str, spec: &Field, question_mark: bool) -> Result<u64, String> {
    let bad = |why: String| format!("{} field '{text}': {why}", spec.name);
    let value = |v: &str| -> Result<u32, String> {
        let lower = v.to_ascii_lowercase();
        let n = match spec.names.iter().position(|name| *name == lower) {
            Some(i) => i as u32 + spec.min,
            None => v
                .parse::<u32>()
                .map_err(|_| bad(format!("'{v}' is not a number or a name")))?,
        };
        if !(spec.min..=spec.max).contains(&n) {
            return Err(bad(format!("{n} is outside {}..{}", spec.min, spec.max)));
        }
        Ok(n)
    };
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| bad(format!("step '{step}' must be a whole number above 0")))?;
                (range, Some(step))
            }
            None => (item, None),
        };
        let (from, to) = match range {
            "*" => (spec.min, spec.max),
            "?" if question_mark => (spec.min, spec.max),
            _ => match range.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None if step.is_some() => (value(range)?, spec.max),
                None => (value(range)?, value(range)?),
            },
        };
        if from > to {
            return Err(bad(format!("range {from}-{to} goes down")));
        }
        for n in (from..=to).step_by(step.unwrap_or(1) as usize) {
            bits |= 1 << n;
        }
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn cron(expression: &str, zone: &str) -> Timing {
        Timing::parse(None, Some(expression), None, Some(zone)).unwrap()
    }

    fn daily(time: &str, zone: &str) -> Timing {
        Timing::parse(None, None, Some(time), Some(zone)).unwrap()
    }

    /// The next `n` times after `from`.
    fn times(timing: &Timing, from: &str, n: usize) -> Vec<String> {
        let mut t = at(from);
        (0..n)
            .map(|_| {
                t = timing.next_after(t).unwrap();
                t.to_string()
            })
            .collect()
    }

    #[test]
    fn every_counts_from_the_previous_time() {
        let every = Timing::parse(Some("90s"), None, None, None).unwrap();
        assert_eq!(
            times(&every, "2026-01-01T00:00:00Z", 2),
            ["2026-01-01T00:01:30Z", "2026-01-01T00:03:00Z"]
        );
        let anchor = at("2026-01-01T00:00:00Z");
        assert_eq!(
            every.at_or_before(at("2026-01-01T00:04:00Z"), anchor),
            Some(at("2026-01-01T00:03:00Z"))
        );
        assert_eq!(every.at_or_before(at("2025-12-31T00:00:00Z"), anchor), None);
    }

    #[test]
    fn cron_with_seconds_steps_lists_ranges_and_names() {
        let quarter = cron("*/15 * * * * *", "UTC");
        assert_eq!(
            times(&quarter, "2026-01-01T10:00:07Z", 2),
            ["2026-01-01T10:00:15Z", "2026-01-01T10:00:30Z"]
        );
        // Friday 2026-01-09 10:00: the next weekday at 09:30 is Monday.
        let workdays = cron("0 30 9 ? * mon-fri", "UTC");
        assert_eq!(times(&workdays, "2026-01-09T10:00:00Z", 1), ["2026-01-12T09:30:00Z"]);
        let listed = cron("0 8,20 1-2 jan,JUL *", "UTC");
        assert_eq!(
            times(&listed, "2026-01-02T12:00:00Z", 3),
            ["2026-01-02T20:00:00Z", "2026-07-01T08:00:00Z", "2026-07-01T20:00:00Z"]
        );
        let stepped_range = cron("10-40/15 12 * * 7", "UTC");
        // Sundays (7 and 0 alike): 2026-01-04.
        assert_eq!(
            times(&stepped_range, "2026-01-01T00:00:00Z", 3),
            ["2026-01-04T12:10:00Z", "2026-01-04T12:25:00Z", "2026-01-04T12:40:00Z"]
        );
    }

    #[test]
    fn cron_day_of_month_or_day_of_week() {
        // Both restricted: the 13th or any Friday.
        let either = cron("0 0 13 * fri", "UTC");
        assert_eq!(
            times(&either, "2026-01-01T00:00:00Z", 3),
            ["2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z"]
        );
        // A starred day of month: only Fridays (and every other day of month).
        let both = cron("0 0 */2 * fri", "UTC");
        assert_eq!(
            times(&both, "2026-01-01T00:00:00Z", 2),
            ["2026-01-09T00:00:00Z", "2026-01-23T00:00:00Z"]
        );
        let leap = cron("0 0 29 feb *", "UTC");
        assert_eq!(times(&leap, "2026-01-01T00:00:00Z", 1), ["2028-02-29T00:00:00Z"]);
    }

    #[test]
    fn at_is_daily_and_crosses_midnight() {
        let late = daily("00:15", "Europe/Paris");
        // 23:50 Paris (UTC+1) on Jan 1 is 22:50Z; the next 00:15 Paris is Jan 2, 23:15Z Jan 1.
        assert_eq!(
            times(&late, "2026-01-01T22:50:00Z", 2),
            ["2026-01-01T23:15:00Z", "2026-01-02T23:15:00Z"]
        );
        let at_midnight = daily("23:59", "UTC");
        assert_eq!(times(&at_midnight, "2026-12-31T23:59:00Z", 1), ["2027-01-01T23:59:00Z"]);
    }

    #[test]
    fn a_skipped_local_hour_fires_once_at_the_end_of_the_gap() {
        // New York springs forward on 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z).
        let half_past_two = daily("02:30", "America/New_York");
        assert_eq!(
            times(&half_past_two, "2026-03-07T12:00:00Z", 3),
            ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"]
        );
        let quarters = cron("*/15 * * * *", "America/New_York");
        assert_eq!(
            times(&quarters, "2026-03-08T06:45:00Z", 2),
            ["2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z"]
        );
        assert_eq!(
            half_past_two.at_or_before(at("2026-03-08T07:40:00Z"), at("2026-01-01T00:00:00Z")),
            Some(at("2026-03-08T07:00:00Z"))
        );
    }

    #[test]
    fn a_repeated_local_hour_fires_once() {
        // New York falls back on 2026-11-01: 02:00 EDT (06:00Z) becomes 01:00 EST.
        let half_past_one = daily("01:30", "America/New_York");
        assert_eq!(
            times(&half_past_one, "2026-11-01T04:00:00Z", 2),
            ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
        );
        let hourly = cron("0 * * * *", "America/New_York");
        assert_eq!(
            times(&hourly, "2026-11-01T04:30:00Z", 3),
            ["2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"]
        );
        // In the second pass (01:45 EST), the latest time is the first pass's 01:30 EDT.
        let halves = cron("*/30 * * * *", "America/New_York");
        let anchor = at("2026-01-01T00:00:00Z");
        assert_eq!(
            halves.at_or_before(at("2026-11-01T06:45:00Z"), anchor),
            Some(at("2026-11-01T05:30:00Z"))
        );
        assert_eq!(
            halves.at_or_before(at("2026-11-01T07:10:00Z"), anchor),
            Some(at("2026-11-01T07:00:00Z"))
        );
    }

    #[test]
    fn parse_errors_name_the_property() {
        let cases = [
            (
                Timing::parse(None, None, None, None),
                "give exactly one of every, cron or at",
            ),
            (
                Timing::parse(Some("1m"), Some("* * * * *"), None, None),
                "give exactly one",
            ),
            (
                Timing::parse(Some("500ms"), None, None, None),
                "every: '500ms' is less than 1s",
            ),
            (
                Timing::parse(Some("often"), None, None, None),
                "every: 'often' is not a duration",
            ),
            (
                Timing::parse(None, Some("* * * *"), None, None),
                "cron: '* * * *' has 4 fields",
            ),
            (
                Timing::parse(None, Some("61 * * * *"), None, None),
                "cron: minute field '61': 61 is outside 0..59",
            ),
            (
                Timing::parse(None, Some("* * * foo *"), None, None),
                "cron: month field 'foo'",
            ),
            (
                Timing::parse(None, Some("*/0 * * * *"), None, None),
                "cron: minute field '*/0': step '0'",
            ),
            (
                Timing::parse(None, Some("5-1 * * * *"), None, None),
                "range 5-1 goes down",
            ),
            (
                Timing::parse(None, Some("? 0 * * *"), None, None),
                "cron: minute field '?'",
            ),
            (Timing::parse(None, Some("0 0 31 feb *"), None, None), "never matches"),
            (
                Timing::parse(None, None, Some("25:00"), None),
                "at: '25:00' is not a time of day",
            ),
            (Timing::parse(None, None, Some("noon"), None), "at: 'noon'"),
            (
                Timing::parse(None, None, Some("08:00"), Some("Nowhere/City")),
                "timezone: unknown time zone 'Nowhere/City'",
            ),
        ];
        for (result, expected) in cases {
            let e = result.unwrap_err();
            assert!(e.contains(expected), "{e} lacks {expected}");
        }
        assert!(Timing::parse(None, Some("0 0 ? * *"), None, None).is_ok());
        assert_eq!("all".parse::<Missed>(), Ok(Missed::All));
        assert_eq!(
            "some".parse::<Missed>(),
            Err("missed: 'some' must be skip, once or all".into())
        );
    }

    fn hourly() -> Timing {
        Timing::parse(Some("1h"), None, None, None).unwrap()
    }

    #[test]
    fn the_first_start_fires_only_with_trigger_immediately() {
        let now = at("2026-01-01T10:00:00.250Z");
        let quiet = plan(&hourly(), None, now, Missed::All, false);
        assert_eq!((quiet.fire, quiet.last), (vec![], at("2026-01-01T10:00:00Z")));
        let eager = plan(&hourly(), None, now, Missed::All, true);
        assert_eq!(eager.fire, [at("2026-01-01T10:00:00Z")]);
        assert!(eager.missed.is_empty());
    }

    #[test]
    fn nothing_passed_changes_nothing() {
        let last = at("2026-01-01T10:00:00Z");
        let p = plan(&hourly(), Some(last), at("2026-01-01T10:59:59Z"), Missed::All, true);
        assert_eq!(
            p,
            Plan {
                fire: vec![],
                missed: vec![],
                more_missed: false,
                last
            }
        );
    }

    #[test]
    fn missed_times_by_policy() {
        let last = at("2026-01-01T10:00:00Z");
        // 11:00, 12:00 and 13:00 passed; 13:00 thirty minutes ago, so late too.
        let now = at("2026-01-01T13:30:00Z");
        let passed = ["2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z", "2026-01-01T13:00:00Z"].map(at);
        let skip = plan(&hourly(), Some(last), now, Missed::Skip, false);
        assert_eq!(
            (skip.fire, skip.missed, skip.last),
            (vec![], passed.to_vec(), passed[2])
        );
        let once = plan(&hourly(), Some(last), now, Missed::Once, false);
        assert_eq!((once.fire, once.missed), (vec![passed[2]], passed[..2].to_vec()));
        let all = plan(&hourly(), Some(last), now, Missed::All, false);
        assert_eq!(
            (all.fire, all.missed, all.more_missed),
            (passed.to_vec(), vec![], false)
        );
        // The latest is on time: skip fires it and lists the rest.
        let on_time = plan(&hourly(), Some(last), at("2026-01-01T13:00:20Z"), Missed::Skip, false);
        assert_eq!((on_time.fire, on_time.missed), (vec![passed[2]], passed[..2].to_vec()));
    }

    #[test]
    fn catching_up_is_capped() {
        let every_second = Timing::parse(Some("1s"), None, None, None).unwrap();
        let last = at("2026-01-01T10:00:00Z");
        let now = at("2026-01-01T11:00:00Z");
        let all = plan(&every_second, Some(last), now, Missed::All, false);
        assert_eq!(all.fire.len(), MAX_CATCH_UP);
        assert_eq!(all.fire.first(), Some(&at("2026-01-01T10:58:21Z")));
        assert_eq!(all.fire.last(), Some(&now));
        assert!(all.more_missed);
        assert!(all.missed.len() <= MAX_CATCH_UP);
        let skip = plan(&every_second, Some(last), now, Missed::Skip, false);
        assert_eq!(skip.fire, [now]);
        assert_eq!((skip.missed.len(), skip.more_missed), (MAX_CATCH_UP, true));
        // Exactly the cap: nothing more.
        let just = plan(
            &every_second,
            Some(last),
            at("2026-01-01T10:01:40Z"),
            Missed::All,
            false,
        );
        assert_eq!(
            (just.fire.len(), just.missed.len(), just.more_missed),
            (MAX_CATCH_UP, 0, false)
        );
        // A calendar timing the same way.
        let minutely = cron("* * * * *", "Europe/Paris");
        let day = plan(&minutely, Some(last), at("2026-01-02T10:00:00Z"), Missed::All, false);
        assert_eq!(
            (day.fire.len(), day.more_missed, day.last),
            (MAX_CATCH_UP, true, at("2026-01-02T10:00:00Z"))
        );
    }
}
