//! Syslog messages as RFC 5424 and RFC 3164 lay them out, for `send_syslog_message` (to a
//! syslog server) and `send_event_log_message` (to this host's log socket).

use scorch_activity::ActivityError;
use scorch_activity::props::Props;

/// The facility keywords of RFC 5424 (table 1), in code order, with their usual aliases.
pub(crate) const FACILITIES: &[&[&str]] = &[
    &["kern", "kernel"],
    &["user"],
    &["mail"],
    &["daemon"],
    &["auth", "security"],
    &["syslog"],
    &["lpr"],
    &["news"],
    &["uucp"],
    &["cron"],
    &["authpriv"],
    &["ftp"],
    &["ntp"],
    &["audit", "log_audit"],
    &["alert", "log_alert"],
    &["clock", "cron2"],
    &["local0"],
    &["local1"],
    &["local2"],
    &["local3"],
    &["local4"],
    &["local5"],
    &["local6"],
    &["local7"],
];

/// The severities of RFC 5424 (table 2), in code order, with their usual aliases.
pub(crate) const SEVERITIES: &[&[&str]] = &[
    &["emerg", "emergency", "panic"],
    &["alert"],
    &["crit", "critical"],
    &["err", "error"],
    &["warning", "warn"],
    &["notice"],
    &["info", "informational"],
    &["debug"],
];

/// A facility or severity: a keyword (case-insensitive) or its number.
pub(crate) fn code(props: &Props, name: &str, default: &str, table: &[&[&str]]) -> Result<u32, ActivityError> {
    let text = props.str_or(name, default)?;
    let wanted = text.trim().to_ascii_lowercase();
    if let Ok(n) = wanted.parse::<usize>()
        && n < table.len()
    {
        return Ok(n as u32);
    }
    match table.iter().position(|names| names.contains(&wanted.as_str())) {
        Some(n) => Ok(n as u32),
        None => {
            let names: Vec<&str> = table.iter().map(|names| names[0]).collect();
            Err(ActivityError::invalid(
                props.type_name(),
                name,
                format!("unknown {name} '{text}' (one of {})", names.join(", ")),
            ))
        }
    }
}

/// This computer's host name (`-`, the nil value, when it cannot be read).
pub(crate) fn local_hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().to_string())
        .find(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "-".into())
}

/// One message's fields. `type_name` is the activity's, for its errors.
pub(crate) struct Parts {
    pub type_name: &'static str,
    pub pri: u32,
    pub hostname: String,
    pub app_name: String,
    pub procid: u32,
    pub message: String,
}

impl Parts {
    /// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG` (RFC 5424 6),
    /// with no MSGID and no structured data, and the message as is (MSG-ANY: no BOM).
    pub fn rfc5424(&self, now: &jiff::Timestamp) -> Result<String, ActivityError> {
        self.check_app_name(48)?;
        let hostname: String = self.hostname.chars().take(255).collect();
        let timestamp = now.strftime("%Y-%m-%dT%H:%M:%S%.6fZ");
        Ok(format!(
            "<{}>1 {timestamp} {hostname} {} {} - - {}",
            self.pri, self.app_name, self.procid, self.message
        ))
    }

    /// `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG` (RFC 3164 4.1), in local time, the host
    /// name without its domain; line breaks in the message become spaces (one message, one line).
    pub fn rfc3164(&self, now: &jiff::Zoned) -> Result<String, ActivityError> {
        let hostname = if self.hostname.parse::<std::net::IpAddr>().is_ok() {
            self.hostname.as_str()
        } else {
            self.hostname.split('.').next().unwrap_or("-")
        };
        self.rfc3164_with(now, Some(hostname))
    }

    /// RFC 3164 without the HOSTNAME, as a program writes to its own host's log socket (the
    /// syslog daemon or journald adds the host).
    pub fn rfc3164_local(&self, now: &jiff::Zoned) -> Result<String, ActivityError> {
        self.rfc3164_with(now, None)
    }

    fn rfc3164_with(&self, now: &jiff::Zoned, hostname: Option<&str>) -> Result<String, ActivityError> {
        self.check_app_name(32)?;
        let timestamp = now.strftime("%b %e %H:%M:%S");
        let host = hostname.map(|h| format!("{h} ")).unwrap_or_default();
        let message = self.message.replace(['\r', '\n'], " ");
        Ok(format!(
            "<{}>{timestamp} {host}{}[{}]: {message}",
            self.pri, self.app_name, self.procid
        ))
    }

    fn check_app_name(&self, max: usize) -> Result<(), ActivityError> {
        let name = &self.app_name;
        if name.is_empty()
            || name.len() > max
            || !name.bytes().all(|b| b.is_ascii_graphic())
            || name.contains(['[', ']', ':'])
        {
            return Err(ActivityError::invalid(
                self.type_name,
                "app_name",
                format!("'{name}' must be 1 to {max} printable ASCII characters without spaces, ':' or brackets"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants_exactly() {
        let parts = Parts {
            type_name: "t",
            pri: 34,
            hostname: "mymachine.example.com".into(),
            app_name: "su".into(),
            procid: 77,
            message: "'su root' failed".into(),
        };
        let ts: jiff::Timestamp = "2003-10-11T22:14:15.003Z".parse().unwrap();
        assert_eq!(
            parts.rfc5424(&ts).unwrap(),
            "<34>1 2003-10-11T22:14:15.003000Z mymachine.example.com su 77 - - 'su root' failed"
        );
        let zoned = ts.to_zoned(jiff::tz::TimeZone::UTC);
        assert_eq!(
            parts.rfc3164(&zoned).unwrap(),
            "<34>Oct 11 22:14:15 mymachine su[77]: 'su root' failed"
        );
        let zoned = "2003-10-05T02:04:05Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::UTC);
        assert_eq!(
            parts.rfc3164(&zoned).unwrap(),
            "<34>Oct  5 02:04:05 mymachine su[77]: 'su root' failed"
        );
        assert_eq!(
            parts.rfc3164_local(&zoned).unwrap(),
            "<34>Oct  5 02:04:05 su[77]: 'su root' failed"
        );
    }
}
