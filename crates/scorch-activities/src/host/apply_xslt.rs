//! `apply_xslt`: transforms an XML document with an XSLT 1.0 stylesheet.
//!
//! The engine is libxslt, through Debian's `xsltproc` run as a child process: the Rust bindings
//! (`libxslt`) offer no safe way to refuse network access, read errors or serialize by
//! `xsl:output`, and the pure-Rust engines lack much of XSLT 1.0 (`xrust` 2.3 has no
//! `xsl:sort`). A child process also ends on the activity's timeout or a cancellation, which a
//! transformation running inside the server could not. It runs under `prlimit`, which caps its
//! memory and the size of the files it writes (the result, and its stderr), with no network
//! access (`--nonet`), no DTD loading (`--novalid`), writing only into its own temporary folder. libxslt substitutes
//! entities whatever its options say, so documents with a DTD (the only place an external
//! entity can be declared) are refused before it sees them.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use scorch_activity::process::{self, ProcessSpec};
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{CATEGORY, MIB, read_capped, write_output};

const TYPE: &str = "apply_xslt";
/// The most read from `xml`, `file`, `xslt` or `xslt_file`, each.
const MAX_INPUT: u64 = 16 * MIB;
/// The most the transformation may produce.
const MAX_OUTPUT: u64 = 16 * MIB;
/// The address space `xsltproc` may use.
const MAX_MEMORY: u64 = 1024 * MIB;
/// How a process killed for writing past its file size limit (SIGXFSZ) exits.
const FILE_TOO_LARGE: i32 = 128 + 25;
/// How the shell exits when it cannot find the program.
const NOT_FOUND: i32 = 127;
/// The most of xsltproc's stderr read for the error.
const MAX_STDERR: u64 = 64 * 1024;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Transforms XML (text or a file) with an XSLT 1.0 stylesheet; publishes the result.",
    idempotent: true,
    properties: &["xml", "file", "xslt", "xslt_file", "output_file", "parameters"],
    required: &[],
    publishes: &["output"],
};

pub struct ApplyXslt;

#[scorch_activity::async_trait]
impl Activity for ApplyXslt {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let xml = Input::from_props(ctx, &props, "xml", "file")?;
        let xslt = Input::from_props(ctx, &props, "xslt", "xslt_file")?;
        let output_file = props
            .opt_str("output_file")?
            .filter(|s| !s.trim().is_empty())
            .map(|s| ctx.resolve_path(&s));
        let parameters = props.str_map("parameters")?;
        if let Some((name, _)) = parameters.iter().find(|(name, _)| !is_qname(name)) {
            return Err(ActivityError::invalid(
                TYPE,
                "parameters",
                format!("'{name}' is not a parameter name"),
            ));
        }

        let stage = tempfile::tempdir().map_err(|e| ActivityError::failed(TYPE, "temporary folder", e))?;
        // stderr goes to a file, where the size limit holds too (`xsl:message` in a loop).
        let mut args = vec![
            format!("--fsize={MAX_OUTPUT}"),
            format!("--as={MAX_MEMORY}"),
            "sh".into(),
            "-c".into(),
            "exec xsltproc \"$@\" 2>stderr".into(),
            TYPE.into(),
            "--nonet".into(),
            "--novalid".into(),
            "--nomkdir".into(),
            "--writesubtree".into(),
            stage.path().display().to_string(),
            "-o".into(),
            stage.path().join("out").display().to_string(),
        ];
        for (name, value) in parameters {
            args.extend(["--stringparam".into(), name, value]);
        }
        args.push(xslt.stage(stage.path()).await?);
        args.push(xml.stage(stage.path()).await?);

        let spec = ProcessSpec {
            program: "prlimit".into(),
            args,
            working_dir: Some(stage.path().to_path_buf()),
            ..Default::default()
        };
        let ran = process::run(ctx, TYPE, spec).await?;
        match ran.exit_code {
            0 => {}
            FILE_TOO_LARGE => {
                return Err(ActivityError::failed(
                    TYPE,
                    xslt.name(),
                    format!("the output is larger than the {} MiB limit", MAX_OUTPUT / MIB),
                ));
            }
            NOT_FOUND => {
                return Err(ActivityError::failed(
                    TYPE,
                    "xsltproc",
                    "program not found (install Debian's xsltproc package)",
                ));
            }
            _ => {
                let stderr = read_head(&stage.path().join("stderr")).await;
                return Err(ActivityError::Failed(failure(&stderr, &[&xml, &xslt])));
            }
        }
        // An empty result may leave no file at all.
        let output = match tokio::fs::read(stage.path().join("out")).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(ActivityError::failed(TYPE, "output", e)),
        };
        if let Some(path) = output_file {
            write_output(TYPE, path, output.clone()).await?;
        }
        Ok(ActivityOutput::row(row! {
            "output" => String::from_utf8_lossy(&output).into_owned(),
        }))
    }
}

/// A document given as text (the property's name names it in errors) or as a file.
enum Input {
    Text { property: &'static str, text: String },
    File(PathBuf),
}

impl Input {
    /// Exactly one of the `text` and `file` properties.
    fn from_props(
        ctx: &ActivityContext,
        props: &Props,
        text: &'static str,
        file: &'static str,
    ) -> Result<Self, ActivityError> {
        let given = |name| props.opt_str(name).map(|v| v.filter(|s| !s.trim().is_empty()));
        match (given(text)?, given(file)?) {
            (Some(_), Some(_)) => Err(ActivityError::invalid(
                TYPE,
                text,
                format!("give '{text}' or '{file}', not both"),
            )),
            (None, None) => Err(ActivityError::invalid(TYPE, text, format!("give '{text}' or '{file}'"))),
            (Some(text_value), None) => {
                if text_value.len() as u64 > MAX_INPUT {
                    return Err(ActivityError::invalid(
                        TYPE,
                        text,
                        format!("larger than the {} MiB limit", MAX_INPUT / MIB),
                    ));
                }
                Ok(Input::Text {
                    property: text,
                    text: text_value,
                })
            }
            (None, Some(path)) => Ok(Input::File(ctx.resolve_path(&path))),
        }
    }

    fn name(&self) -> String {
        match self {
            Input::Text { property, .. } => property.to_string(),
            Input::File(path) => path.display().to_string(),
        }
    }

    /// Checks the document and returns the argument that names it to `xsltproc`: a file as it
    /// is (so that a stylesheet's relative `xsl:include`s resolve beside it), text written to
    /// `stage` under the property's name.
    async fn stage(&self, stage: &Path) -> Result<String, ActivityError> {
        let refuse = |why: &str| ActivityError::failed(TYPE, self.name(), why);
        match self {
            Input::Text { property, text } => {
                if let Some(why) = unsafe_prolog(text.as_bytes()) {
                    return Err(refuse(why));
                }
                let path = stage.join(property);
                tokio::fs::write(&path, text)
                    .await
                    .map_err(|e| refuse(&e.to_string()))?;
                Ok(property.to_string())
            }
            Input::File(path) => {
                let bytes = read_capped(TYPE, path, MAX_INPUT).await?;
                if let Some(why) = unsafe_prolog(&bytes) {
                    return Err(refuse(why));
                }
                Ok(path.display().to_string())
            }
        }
    }
}

/// Why a document must not reach libxslt, if it must not: a DTD other than a bare
/// `<!DOCTYPE name>` (it could declare or load external entities), or an encoding in which
/// that check cannot see the DTD (UTF-16 and the like, which hold NUL bytes; UTF-7; EBCDIC).
fn unsafe_prolog(bytes: &[u8]) -> Option<&'static str> {
    const EBCDIC_XML_DECL: &[u8] = &[0x4C, 0x6F, 0xA7, 0x94];
    if bytes.contains(&0) || bytes.starts_with(EBCDIC_XML_DECL) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Some("not in an ASCII-based encoding (UTF-8, ISO-8859-n, windows-125n)");
    }
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if declared_encoding(text).is_some_and(|e| !ascii_based(&e)) {
        return Some("declares an encoding that is not ASCII-based (UTF-8, ISO-8859-n, windows-125n)");
    }
    let mut rest = bytes;
    while let Some(at) = find(rest, b"<!DOCTYPE") {
        rest = &rest[at + b"<!DOCTYPE".len()..];
        let after_name = rest.trim_ascii_start();
        let name_len = after_name
            .iter()
            .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'>' | b'['))
            .count();
        if name_len == 0 || after_name[name_len..].trim_ascii_start().first() != Some(&b'>') {
            return Some("has a DTD; DTDs and external entities are refused");
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `encoding` of an XML declaration (`<?xml version="1.0" encoding="..."?>`), if given.
fn declared_encoding(text: &[u8]) -> Option<String> {
    static ENCODING: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"^<\?xml\s[^>]*?encoding\s*=\s*["']([^"']*)["']"#).expect("valid regex"));
    let head = String::from_utf8_lossy(&text[..text.len().min(200)]).into_owned();
    ENCODING.captures(&head).map(|c| c[1].to_ascii_lowercase())
}

/// Encodings where ASCII characters are single ASCII bytes, so `<!DOCTYPE` is seen as such.
fn ascii_based(encoding: &str) -> bool {
    ["utf-8", "utf8", "us-ascii", "ascii", "latin1", "latin-1"].contains(&encoding)
        || ["iso-8859-", "iso8859-", "windows-125", "cp125"]
            .iter()
            .any(|prefix| encoding.starts_with(prefix))
}

/// An XSLT parameter name: a QName (`name` or `prefix:name`).
fn is_qname(name: &str) -> bool {
    let ncname = |part: &str| {
        part.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && part
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    match name.split_once(':') {
        Some((prefix, local)) => ncname(prefix) && ncname(local),
        None => ncname(name),
    }
}

/// The start of the file at `path` (what xsltproc wrote to stderr), as text.
async fn read_head(path: &Path) -> String {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    if let Ok(file) = tokio::fs::File::open(path).await {
        // What could be read is what there is to report.
        let _ = file.take(MAX_STDERR).read_to_end(&mut head).await;
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The one-line error for what `xsltproc` wrote to stderr: `apply_xslt: NAME: line N: why`,
/// the document named as the user named it.
fn failure(stderr: &str, inputs: &[&Input]) -> String {
    static PARSER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(.+?):(\d+): (?:\w+ )?(?:parser|namespace|validity) error : (.+)$").expect("valid regex")
    });
    static XSLT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:compilation|runtime) error: file (.+?) line (\d+) element \S+$").expect("valid regex")
    });
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let named = |file: &str| {
        let input = inputs.iter().find(|input| match input {
            Input::Text { property, .. } => file == *property,
            Input::File(path) => Path::new(file) == path,
        });
        input.map_or_else(|| file.to_string(), |input| input.name())
    };
    for (i, line) in lines.iter().enumerate() {
        if let Some(c) = PARSER.captures(line) {
            return format!("{TYPE}: {}: line {}: {}", named(&c[1]), &c[2], &c[3]);
        }
        if let Some(c) = XSLT.captures(line) {
            let why = lines.get(i + 1).copied().unwrap_or("failed");
            return format!("{TYPE}: {}: line {}: {why}", named(&c[1]), &c[2]);
        }
    }
    match lines.first() {
        Some(line) => format!("{TYPE}: {line}"),
        None => format!("{TYPE}: the transformation failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::test_support::{failed, field, invalid, ok};
    use crate::test_peers::{find_program, free_port, peer_missing};
    use scorch_activity::json;
    use std::fs;

    const ORDERS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<orders region="north">
  <order id="3" status="open">
    <customer>Zoe &amp; Co</customer>
    <item sku="B-2" qty="2" price="5.50"/>
    <item sku="A-1" qty="1" price="10"/>
  </order>
  <order id="1" status="shipped">
    <customer>Adam</customer>
    <item sku="C-9" qty="4" price="2.25"/>
  </order>
  <order id="2" status="cancelled"><customer>Mia</customer></order>
</orders>
"#;

    /// Text output: a parameter, a global variable, apply-templates with a numeric sort,
    /// choose, if, for-each with a text sort.
    const REPORT: &str = r#"<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:param name="title" select="'Orders'"/>
  <xsl:variable name="count" select="count(/orders/order)"/>
  <xsl:template match="/">
    <xsl:value-of select="$title"/> (<xsl:value-of select="$count"/>, <xsl:value-of select="orders/@region"/>)
<xsl:apply-templates select="orders/order"><xsl:sort select="@id" data-type="number"/></xsl:apply-templates>
  </xsl:template>
  <xsl:template match="order">
    <xsl:value-of select="@id"/>: <xsl:value-of select="customer"/>
    <xsl:text> - </xsl:text>
    <xsl:choose>
      <xsl:when test="@status = 'open'">OPEN</xsl:when>
      <xsl:when test="@status = 'shipped'">shipped</xsl:when>
      <xsl:otherwise>other</xsl:otherwise>
    </xsl:choose>
    <xsl:if test="item"> items=<xsl:value-of select="count(item)"/></xsl:if>
    <xsl:for-each select="item">
      <xsl:sort select="@sku"/>
      <xsl:text> </xsl:text><xsl:value-of select="@sku"/>x<xsl:value-of select="@qty"/>
    </xsl:for-each>
    <xsl:text>&#10;</xsl:text>
  </xsl:template>
</xsl:stylesheet>
"#;

    /// HTML output: attribute value templates, a descending sort, a named template with a
    /// parameter, an empty element (`<br>` in HTML).
    const TABLE: &str = r#"<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="html"/>
  <xsl:template match="/orders">
    <html><body><table class="{@region}">
      <xsl:for-each select="order">
        <xsl:sort select="customer" order="descending"/>
        <tr><td><xsl:value-of select="@id"/></td><td><xsl:value-of select="customer"/></td>
        <td><xsl:call-template name="total"><xsl:with-param name="items" select="item"/></xsl:call-template></td></tr>
      </xsl:for-each>
    </table><br/></body></html>
  </xsl:template>
  <xsl:template name="total">
    <xsl:param name="items"/>
    <xsl:value-of select="sum($items/@qty)"/>
  </xsl:template>
</xsl:stylesheet>
"#;

    /// XML output: the identity transform with overrides, xsl:attribute, arithmetic.
    const FILTER: &str = r#"<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" indent="yes"/>
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>
  <xsl:template match="order[@status='cancelled']"/>
  <xsl:template match="item">
    <line><xsl:attribute name="code"><xsl:value-of select="@sku"/></xsl:attribute><xsl:value-of select="@qty * @price"/></line>
  </xsl:template>
</xsl:stylesheet>
"#;

    /// What Debian's xsltproc itself makes of `xsl` and `xml`, with string parameters.
    fn xsltproc(dir: &Path, xsl: &str, xml: &str, params: &[(&str, &str)]) -> Option<String> {
        let Some(program) = find_program("xsltproc") else {
            peer_missing("xsltproc", "apt-get install xsltproc");
            return None;
        };
        fs::write(dir.join("ref.xsl"), xsl).unwrap();
        fs::write(dir.join("ref.xml"), xml).unwrap();
        let mut cmd = std::process::Command::new(program);
        for (name, value) in params {
            cmd.args(["--stringparam", name, value]);
        }
        let out = cmd.arg(dir.join("ref.xsl")).arg(dir.join("ref.xml")).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Some(String::from_utf8(out.stdout).unwrap())
    }

    #[tokio::test]
    async fn output_equals_xsltprocs_for_text_html_and_xml() {
        let dir = tempfile::tempdir().unwrap();
        for (name, xsl) in [("report", REPORT), ("table", TABLE), ("filter", FILTER)] {
            let Some(expected) = xsltproc(dir.path(), xsl, ORDERS, &[]) else {
                return;
            };
            let rows = ok(&ApplyXslt, dir.path(), json!({"xml": ORDERS, "xslt": xsl})).await;
            assert_eq!(field(&rows[0], "output"), expected, "{name}");
        }
        let Some(report) = xsltproc(dir.path(), REPORT, ORDERS, &[]) else {
            return;
        };
        assert!(
            report.contains("1: Adam - shipped items=1 C-9x4\n2: Mia - other\n3: Zoe & Co - OPEN items=2 A-1x1 B-2x2"),
            "{report}"
        );
    }

    #[tokio::test]
    async fn files_parameters_and_output_file() {
        let dir = tempfile::tempdir().unwrap();
        let Some(expected) = xsltproc(dir.path(), REPORT, ORDERS, &[("title", "It's Q3")]) else {
            return;
        };
        fs::create_dir(dir.path().join("in")).unwrap();
        fs::write(dir.path().join("in/orders.xml"), ORDERS).unwrap();
        fs::write(dir.path().join("in/report.xsl"), REPORT).unwrap();
        let props = json!({
            "file": "in/orders.xml", "xslt_file": "in/report.xsl", "output_file": "report.txt",
            "parameters": {"title": "It's Q3"},
        });
        let rows = ok(&ApplyXslt, dir.path(), props).await;
        assert_eq!(field(&rows[0], "output"), expected);
        assert!(expected.starts_with("It's Q3 (3, north)"), "{expected}");
        assert_eq!(fs::read_to_string(dir.path().join("report.txt")).unwrap(), expected);
        let props = json!({"xml": ORDERS, "xslt": REPORT, "parameters": {"1bad": "x"}});
        let err = invalid(&ApplyXslt, dir.path(), props).await;
        assert_eq!(err, "apply_xslt: property 'parameters': '1bad' is not a parameter name");
    }

    #[tokio::test]
    async fn malformed_inputs_are_one_line_errors_with_the_line() {
        let dir = tempfile::tempdir().unwrap();
        if find_program("xsltproc").is_none() {
            return peer_missing("xsltproc", "apt-get install xsltproc");
        }
        fs::write(dir.path().join("style.xsl"), "<?xml version=\"1.0\"?>\n<xsl:stylesheet version=\"1.0\"\n  xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">\n<xsl:template>\n</xsl:stylesheet>\n").unwrap();
        let err = failed(&ApplyXslt, dir.path(), json!({"xml": ORDERS, "xslt_file": "style.xsl"})).await;
        let style = dir.path().join("style.xsl").display().to_string();
        assert_eq!(
            err,
            format!("apply_xslt: {style}: line 5: Opening and ending tag mismatch: template line 4 and stylesheet")
        );

        let err = failed(&ApplyXslt, dir.path(), json!({"xml": "<a><b></a>", "xslt": REPORT})).await;
        assert_eq!(
            err,
            "apply_xslt: xml: line 1: Opening and ending tag mismatch: b line 1 and a"
        );

        let bad_xpath = REPORT.replace("count(item)", "count(item");
        let err = failed(&ApplyXslt, dir.path(), json!({"xml": ORDERS, "xslt": bad_xpath})).await;
        assert_eq!(
            err,
            "apply_xslt: xslt: line 18: xsl:value-of : could not compile select expression 'count(item'"
        );

        let err = failed(&ApplyXslt, dir.path(), json!({"xml": ORDERS, "xslt": "<a/>"})).await;
        assert_eq!(
            err,
            "apply_xslt: xslt: line 1: xsltParseStylesheetProcess : document is not a stylesheet"
        );

        let stop = REPORT.replace(
            "<xsl:value-of select=\"$title\"/>",
            "<xsl:message terminate=\"yes\">no orders today</xsl:message>",
        );
        let err = failed(&ApplyXslt, dir.path(), json!({"xml": ORDERS, "xslt": stop})).await;
        assert_eq!(err, "apply_xslt: no orders today");

        let err = failed(&ApplyXslt, dir.path(), json!({"file": "nope.xml", "xslt": REPORT})).await;
        assert_eq!(
            err,
            format!("apply_xslt: {}: not found", dir.path().join("nope.xml").display())
        );
        let err = invalid(&ApplyXslt, dir.path(), json!({"xslt": REPORT})).await;
        assert_eq!(err, "apply_xslt: property 'xml': give 'xml' or 'file'");
    }

    #[tokio::test]
    async fn external_entities_and_network_access_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        if find_program("xsltproc").is_none() {
            return peer_missing("xsltproc", "apt-get install xsltproc");
        }
        let secret = dir.path().join("secret.txt");
        fs::write(&secret, "TOP-SECRET").unwrap();
        let xxe = format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE orders [ <!ENTITY s SYSTEM \"file://{}\"> ]>\n<orders region=\"x\"><order id=\"1\"><customer>&s;</customer></order></orders>",
            secret.display()
        );
        let err = failed(&ApplyXslt, dir.path(), json!({"xml": xxe, "xslt": REPORT})).await;
        assert_eq!(
            err,
            "apply_xslt: xml: has a DTD; DTDs and external entities are refused"
        );
        let xsl_xxe = REPORT.replace(
            "<xsl:stylesheet",
            &format!(
                "<!DOCTYPE xsl:stylesheet [ <!ENTITY s SYSTEM \"file://{}\"> ]>\n<xsl:stylesheet",
                secret.display()
            ),
        );
        let err = failed(&ApplyXslt, dir.path(), json!({"xml": ORDERS, "xslt": xsl_xxe})).await;
        assert_eq!(
            err,
            "apply_xslt: xslt: has a DTD; DTDs and external entities are refused"
        );
        let utf7 = "<?xml version=\"1.0\" encoding=\"UTF-7\"?>\n+ADw-orders/+AD4-";
        let err = failed(&ApplyXslt, dir.path(), json!({"xml": utf7, "xslt": REPORT})).await;
        assert!(err.contains("not ASCII-based"), "{err}");
        // A bare DOCTYPE declares nothing and is fine.
        let bare = ORDERS.replace("<orders ", "<!DOCTYPE orders>\n<orders ");
        ok(&ApplyXslt, dir.path(), json!({"xml": bare, "xslt": REPORT})).await;

        // document() over the network: refused (--nonet), and no connection is ever made.
        let listener = std::net::TcpListener::bind(("127.0.0.1", free_port())).unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/doc.xml", listener.local_addr().unwrap());
        let fetch = REPORT.replace(
            "<xsl:value-of select=\"$title\"/>",
            &format!("<xsl:value-of select=\"document('{url}')\"/>"),
        );
        let _ = ApplyXslt
            .run(
                &ActivityContext::standalone(TYPE, dir.path().to_path_buf()),
                json!({"xml": ORDERS, "xslt": fetch}),
            )
            .await;
        assert!(listener.accept().is_err(), "xsltproc connected to {url}");
    }

    /// 4000 elements, each written once per element: 32 MB of output, for about a second.
    fn quadratic() -> (String, &'static str) {
        let xml = format!("<r>{}</r>", "<x/>".repeat(4000));
        let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:template match="/"><xsl:for-each select="//x"><xsl:for-each select="//x">ab</xsl:for-each></xsl:for-each></xsl:template>
</xsl:stylesheet>"#;
        (xml, xsl)
    }

    #[tokio::test]
    async fn the_output_cap_and_the_timeout_hold() {
        let dir = tempfile::tempdir().unwrap();
        if find_program("xsltproc").is_none() {
            return peer_missing("xsltproc", "apt-get install xsltproc");
        }
        let (xml, xsl) = quadratic();
        let props = json!({"xml": xml, "xslt": xsl, "output_file": "big.txt"});
        let err = failed(&ApplyXslt, dir.path(), props.clone()).await;
        assert_eq!(err, "apply_xslt: xslt: the output is larger than the 16 MiB limit");
        assert!(!dir.path().join("big.txt").exists());

        let mut ctx = ActivityContext::standalone(TYPE, dir.path().to_path_buf());
        ctx.deadline = Some(tokio::time::Instant::now() + std::time::Duration::from_millis(200));
        let started = std::time::Instant::now();
        assert_eq!(ApplyXslt.run(&ctx, props).await.unwrap_err(), ActivityError::TimedOut);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn the_prolog_check() {
        assert_eq!(unsafe_prolog(b"<a/>"), None);
        assert_eq!(
            unsafe_prolog(b"\xEF\xBB\xBF<?xml version='1.0' encoding='ISO-8859-1'?><a/>"),
            None
        );
        assert_eq!(unsafe_prolog(b"<!DOCTYPE a >\n<a/>"), None);
        assert!(unsafe_prolog(b"<!DOCTYPE a SYSTEM \"a.dtd\"><a/>").is_some());
        assert!(unsafe_prolog(b"<!DOCTYPE a><!DOCTYPE b [<!ENTITY x 'y'>]><a/>").is_some());
        assert!(
            unsafe_prolog(
                "<a/>"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect::<Vec<_>>()
                    .as_slice()
            )
            .is_some()
        );
        assert!(unsafe_prolog(b"<?xml version=\"1.0\" encoding=\"EBCDIC-US\"?><a/>").is_some());
    }
}
