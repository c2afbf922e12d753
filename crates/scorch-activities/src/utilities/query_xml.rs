//! `query_xml`: runs an XPath 1.0 query and publishes one row per node.

use std::sync::LazyLock;

use regex::{Captures, Regex};
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Row, Value, row};
use sxd_xpath::{Context, Factory};

use super::{Document, document};

const TYPE: &str = "query_xml";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: "Utilities",
    summary: "Queries XML text or an XML file with XPath; one row per node (its text or attribute value).",
    idempotent: true,
    properties: &["xml", "file", "xpath", "namespaces"],
    required: &["xpath"],
    publishes: &["value"],
};

pub struct QueryXml;

#[scorch_activity::async_trait]
impl Activity for QueryXml {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let xpath = props.non_empty("xpath")?;
        let namespaces = props.str_map("namespaces")?;
        let doc = document(ctx, &props, "xml").await?;
        query(&doc, &xpath, &namespaces).map(ActivityOutput::rows)
    }
}

/// Evaluates `xpath` on `xml`; `namespaces` binds the prefixes the expression uses. A node set
/// gives one row per node in document order, any other result one row.
fn query(xml: &Document, xpath: &str, namespaces: &[(String, String)]) -> Result<Vec<Row>, ActivityError> {
    let expression = Factory::new()
        .build(xpath)
        .map_err(|e| why(&e))
        .and_then(|built| built.ok_or_else(|| "empty expression".to_string()))
        .map_err(|why| ActivityError::invalid(TYPE, "xpath", format!("invalid XPath '{xpath}': {why}")))?;
    // sxd-xpath panics on a prefix without a namespace, so refuse those first.
    if let Some(prefix) = prefixes(xpath).find(|p| !namespaces.iter().any(|(bound, _)| bound == p)) {
        let why = format!("prefix '{prefix}' has no namespace; bind it in 'namespaces'");
        return Err(ActivityError::invalid(TYPE, "xpath", why));
    }
    let package = sxd_document::parser::parse(&xml.text).map_err(|e| ActivityError::failed(TYPE, &xml.name, e))?;
    let document = package.as_document();
    let mut context = Context::new();
    for (prefix, uri) in namespaces {
        context.set_namespace(prefix, uri);
    }
    let value = expression
        .evaluate(&context, document.root())
        .map_err(|e| ActivityError::failed(TYPE, xpath, format!("cannot evaluate: {}", why(&e))))?;
    let texts = match value {
        sxd_xpath::Value::Nodeset(nodes) => nodes.document_order().iter().map(|node| node.string_value()).collect(),
        other => vec![other.string()],
    };
    Ok(texts.into_iter().map(|text| row! { "value" => text }).collect())
}

/// An sxd-xpath error in words: its `Display` shows some errors as variant names
/// (`TrailingSlash`) and names as debug structs.
fn why(err: &dyn std::fmt::Display) -> String {
    static NAME: LazyLock<Regex> = LazyLock::new(|| {
        let debug_name = r#"OwnedPrefixedName \{ prefix: (?:None|Some\("([^"]*)"\)), local_part: "([^"]*)" \}"#;
        Regex::new(debug_name).expect("a valid regex")
    });
    static CAMEL_CASE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)+\b").expect("a valid regex"));
    let text = err.to_string();
    let text = NAME.replace_all(&text, |c: &Captures| match c.get(1) {
        Some(prefix) => format!("'{}:{}'", prefix.as_str(), &c[2]),
        None => format!("'{}'", &c[2]),
    });
    let words = |c: &Captures| {
        let mut spaced = String::new();
        for ch in c[0].chars() {
            if ch.is_uppercase() && !spaced.is_empty() {
                spaced.push(' ');
            }
            spaced.push(ch.to_ascii_lowercase());
        }
        spaced
    };
    CAMEL_CASE.replace_all(&text, words).into_owned()
}

/// The namespace prefixes of the names in `xpath` (`x:item`, `@x:id`, `x:*`). String literals
/// are skipped, and `child::` is an axis, not a prefix.
fn prefixes(xpath: &str) -> impl Iterator<Item = &str> {
    static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"'[^']*'|"[^"]*"|([\p{L}_][\p{L}\p{N}_.\-]*):(?:[^:]|$)"#).expect("a valid regex")
    });
    PREFIX.captures_iter(xpath).filter_map(|c| c.get(1)).map(|m| m.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::json;

    const RESPONSE: &str = r#"<methodCallResult status="ok">
        <params><requestId>IN0001</requestId><requestId>IN0002</requestId></params>
        <state code="200">Done <b>now</b></state>
    </methodCallResult>"#;

    fn doc(xml: &str) -> Document {
        Document {
            name: "xml".into(),
            text: xml.into(),
        }
    }

    fn values(xml: &str, xpath: &str) -> Result<Vec<String>, ActivityError> {
        let rows = query(&doc(xml), xpath, &[])?;
        Ok(rows.iter().map(|r| r["value"].as_str().unwrap().to_string()).collect())
    }

    #[test]
    fn elements_attributes_and_scalars() {
        assert_eq!(values(RESPONSE, "//requestId").unwrap(), vec!["IN0001", "IN0002"]);
        assert_eq!(values(RESPONSE, "/methodCallResult/@status").unwrap(), vec!["ok"]);
        assert_eq!(values(RESPONSE, "//state").unwrap(), vec!["Done now"]);
        assert_eq!(values(RESPONSE, "count(//requestId)").unwrap(), vec!["2"]);
        assert!(values(RESPONSE, "//missing").unwrap().is_empty());
    }

    #[test]
    fn finds_prefixes_outside_literals_and_axes() {
        let found: Vec<_> = prefixes("child::a:b[@c:d = 'e:f' or \"g:h\"]/i:*").collect();
        assert_eq!(found, vec!["a", "c", "i"]);
    }

    #[test]
    fn namespaces_bind_prefixes() {
        let xml = r#"<r xmlns="urn:x"><item>1</item></r>"#;
        let rows = query(&doc(xml), "//x:item", &[("x".into(), "urn:x".into())]).unwrap();
        assert_eq!(rows, vec![row! { "value" => "1" }]);
    }

    #[test]
    fn invalid_xml_and_xpath_are_clear_errors() {
        let err = values("<a><b></a>", "//b").unwrap_err().to_string();
        assert_eq!(
            err,
            "query_xml: xml: XML parsing error at 8: {MismatchedElementEndName}"
        );
        let err = values(RESPONSE, "//[").unwrap_err().to_string();
        assert_eq!(err, "query_xml: property 'xpath': invalid XPath '//[': trailing slash");
        let err = values(RESPONSE, "//x:item").unwrap_err().to_string();
        assert_eq!(
            err,
            "query_xml: property 'xpath': prefix 'x' has no namespace; bind it in 'namespaces'"
        );
        let err = values(RESPONSE, "$undefined").unwrap_err().to_string();
        assert_eq!(
            err,
            "query_xml: $undefined: cannot evaluate: unknown variable 'undefined'"
        );
        let err = values(RESPONSE, "//a[1 = ]").unwrap_err().to_string();
        assert_eq!(
            err,
            "query_xml: property 'xpath': invalid XPath '//a[1 = ]': right hand side expression missing"
        );
        for err in [values("<a>", "/a"), values(RESPONSE, "")] {
            let err = err.unwrap_err().to_string();
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[tokio::test]
    async fn reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r.xml"), RESPONSE).unwrap();
        let ctx = ActivityContext::standalone(TYPE, dir.path().to_path_buf());
        let out = QueryXml
            .run(&ctx, json!({"file": "r.xml", "xpath": "//requestId[2]"}))
            .await
            .unwrap();
        assert_eq!(out.rows, vec![row! { "value" => "IN0002" }]);
    }
}
