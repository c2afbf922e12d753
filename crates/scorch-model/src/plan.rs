//! Compiles a [`Runbook`] into a [`Plan`] the engine runs: ids resolved to indexes, templates and
//! conditions parsed, durations read, and every semantic rule of the format checked.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::compare::Op;
use crate::def::{ActivityDef, ConditionDef, ParamDef, RetryDef, Runbook};
use crate::diagnostic::{Diagnostic, Report};
use crate::duration::parse_duration;
use crate::load::Loaded;
use crate::names::{MAX_ACTIVITIES, MAX_FOLDER_CHARS, MAX_ID_CHARS, MAX_NAME_CHARS, check_name};
use crate::params::{TYPE_NAMES, ValueType};
use crate::props::PropTemplate;
use crate::retry::RetryPlan;
use crate::status::Status;
use crate::template::{Reference, Template};
use crate::{Condition, is_identifier};

/// Published fields every run carries, whatever its type.
pub const COMMON_FIELDS: [&str; 10] = [
    "status",
    "error",
    "started_at",
    "ended_at",
    "duration_ms",
    "attempt",
    "activity_name",
    "server",
    "loop_attempts",
    "loop_duration_ms",
];

/// What validation needs to know of an activity type.
#[derive(Debug, Clone, Default)]
pub struct TypeInfo {
    pub properties: Vec<String>,
    pub required: Vec<String>,
    /// `None`: any field may be published.
    pub published: Option<Vec<String>>,
    pub idempotent: bool,
}

/// The activity types available where the runbook will run.
pub trait Catalog {
    /// `None` when the type is unknown. `properties` are the activity's unrendered properties.
    fn describe(&self, type_name: &str, properties: &Value) -> Option<TypeInfo>;
    fn type_names(&self) -> Vec<String>;
}

#[derive(Debug, Clone, PartialEq)]
pub enum Flatten {
    None,
    Separator(String),
    Csv,
}

#[derive(Debug, Clone)]
pub struct LoopPlan {
    pub delay: Duration,
    pub max_attempts: u32,
    pub exit_when: Vec<Condition>,
    pub continue_when: Vec<Condition>,
}

#[derive(Debug, Clone)]
pub struct LinkPlan {
    pub to: usize,
    /// Position among the source's outgoing links: part of a run's causal identity.
    pub ordinal: u32,
    pub name: Option<String>,
    pub include: Vec<Condition>,
    pub exclude: Vec<Condition>,
    pub delay: Duration,
}

#[derive(Debug, Clone)]
pub struct JunctionPlan {
    /// Every activity with a path into the junction: it fires once none of them can run again.
    pub ancestors: Vec<usize>,
    pub return_data_from: Option<usize>,
}

/// One activity, ready to run.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub type_name: String,
    pub properties: PropTemplate,
    pub flatten: Flatten,
    pub looping: Option<LoopPlan>,
    pub timeout: Option<Duration>,
    pub retry: Option<RetryPlan>,
    pub links: Vec<LinkPlan>,
    pub inputs: Vec<usize>,
    pub junction: Option<JunctionPlan>,
    pub idempotent: bool,
}

/// A checked, compiled runbook.
#[derive(Debug, Clone)]
pub struct Plan {
    pub runbook: Runbook,
    pub steps: Vec<Step>,
    /// Activities with no incoming link, where an instance begins.
    pub starts: Vec<usize>,
    /// The monitor activity a monitor runbook starts with (see [`crate::monitor`]).
    pub monitor: Option<usize>,
    /// The job parameters (declared by `initialize_data`).
    pub parameters: Vec<ParamDef>,
    pub returns: Vec<(String, ValueType)>,
    /// Global variables the runbook references.
    pub variables: Vec<String>,
    /// Computer groups the runbook references.
    pub groups: Vec<String>,
}

impl Plan {
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| &*s.id == id)
    }
}

/// Checks a loaded runbook against the format and the catalog and compiles it.
pub fn compile(loaded: &Loaded, catalog: &dyn Catalog) -> Result<Plan, Vec<Diagnostic>> {
    let mut report = Report::new(&loaded.source_map);
    let plan = Compiler {
        rb: &loaded.runbook,
        catalog,
        report: &mut report,
    }
    .run();
    if report.items.is_empty() {
        plan.ok_or_else(Vec::new)
    } else {
        Err(report.items)
    }
}

struct Compiler<'a, 'r> {
    rb: &'a Runbook,
    catalog: &'a dyn Catalog,
    report: &'a mut Report<'r>,
}

impl Compiler<'_, '_> {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.report.add(path, message);
    }

    /// Whether `text` is a name of at most `max` characters; if not, reports it at `path`.
    fn fits(&mut self, path: impl Into<String>, what: &str, text: &str, max: usize) -> bool {
        check_name(what, text, max).map_err(|why| self.err(path, why)).is_ok()
    }

    fn run(mut self) -> Option<Plan> {
        let rb = self.rb;
        if rb.name.trim().is_empty() {
            self.err("runbook", "the runbook needs a name");
        }
        self.fits("runbook", "the runbook name", &rb.name, MAX_NAME_CHARS);
        if let Some(folder) = &rb.folder {
            self.fits("folder", "the folder", folder, MAX_FOLDER_CHARS);
        }
        for (i, server) in rb.runbook_servers.iter().enumerate() {
            self.fits(
                format!("runbook_servers/{i}"),
                "a runbook server name",
                server,
                MAX_NAME_CHARS,
            );
        }
        if let Some(schedule) = &rb.schedule {
            self.fits("schedule", "a schedule name", schedule, MAX_NAME_CHARS);
        }
        if rb.concurrency == 0 {
            self.err("concurrency", "concurrency must be at least 1");
        }
        if let Some(r) = rb.retention
            && (r.keep_last.is_none() && r.keep_days.is_none() || r.keep_last == Some(0))
        {
            self.err(
                "retention",
                "retention keeps keep_last instances (at least 1) and/or those younger than keep_days",
            );
        }
        if rb.activities.len() > MAX_ACTIVITIES {
            let count = rb.activities.len();
            self.err(
                "activities",
                format!(
                    "the runbook has {count} activities; the limit is {MAX_ACTIVITIES} (split it with invoke_runbook)"
                ),
            );
            return None;
        }
        let index = self.index_activities();
        let infos: Vec<Option<TypeInfo>> = rb
            .activities
            .iter()
            .enumerate()
            .map(|(i, a)| self.type_info(i, a))
            .collect();
        let (outgoing, inputs) = self.links(&index);
        let order = self.topological_order(&outgoing)?;
        let ancestors = ancestor_sets(&order, &inputs);
        let published = self.published_fields(&index, &infos);
        let returns = self.returns();
        let mut ctx = RefCheck {
            index: &index,
            ancestors: &ancestors,
            published: &published,
            variables: HashSet::new(),
            groups: HashSet::new(),
        };

        let mut steps = Vec::with_capacity(rb.activities.len());
        for (i, a) in rb.activities.iter().enumerate() {
            let path = format!("activities/{i}");
            let properties = self.properties(&path, i, a, &mut ctx);
            let looping = a.loop_.as_ref().map(|l| {
                let delay = self.duration(&format!("{path}/loop/delay"), l.delay.as_deref());
                if l.max_attempts == 0 {
                    self.err(format!("{path}/loop/max_attempts"), "max_attempts must be at least 1");
                }
                LoopPlan {
                    delay,
                    max_attempts: l.max_attempts.max(1),
                    exit_when: self.conditions(&format!("{path}/loop/exit_when"), &l.exit_when, i, &mut ctx),
                    continue_when: self.conditions(
                        &format!("{path}/loop/continue_when"),
                        &l.continue_when,
                        i,
                        &mut ctx,
                    ),
                }
            });
            let timeout = a
                .timeout
                .as_deref()
                .map(|t| self.duration(&format!("{path}/timeout"), Some(t)));
            let retry = a.retry.as_ref().and_then(|r| self.retry(&path, r));
            let flatten = self.flatten(&path, &a.flatten);
            let links = outgoing[i]
                .iter()
                .enumerate()
                .map(|(ordinal, &(li, to))| {
                    let link = &rb.links[li];
                    let lpath = format!("links/{li}");
                    let default_include = [ConditionDef {
                        status: Some(vec!["success".into()]),
                        ..Default::default()
                    }];
                    let include = link.include.as_deref().unwrap_or(&default_include);
                    if include.is_empty() {
                        self.err(
                            format!("{lpath}/include"),
                            "an empty include list never fires: remove it for the default (success) or list conditions",
                        );
                    }
                    LinkPlan {
                        to,
                        ordinal: ordinal as u32,
                        name: link.name.clone(),
                        include: self.conditions(&format!("{lpath}/include"), include, i, &mut ctx),
                        exclude: self.conditions(&format!("{lpath}/exclude"), &link.exclude, i, &mut ctx),
                        delay: self.duration(&format!("{lpath}/delay"), link.delay.as_deref()),
                    }
                })
                .collect();
            let junction = (a.ty == "junction").then(|| JunctionPlan {
                ancestors: (0..rb.activities.len())
                    .filter(|&j| ancestors[i].contains(&j))
                    .collect(),
                return_data_from: a
                    .properties
                    .get("return_data_from")
                    .and_then(Value::as_str)
                    .and_then(|id| index.get(id).copied()),
            });
            steps.push(Step {
                id: Arc::from(a.id.as_str()),
                name: Arc::from(a.display_name()),
                type_name: a.ty.clone(),
                properties,
                flatten,
                looping,
                timeout,
                retry,
                links,
                inputs: inputs[i].clone(),
                junction,
                idempotent: infos[i].as_ref().is_some_and(|t| t.idempotent),
            });
        }
        let starts: Vec<usize> = (0..steps.len()).filter(|&i| inputs[i].is_empty()).collect();
        // With duplicate ids the links are ambiguous; that error is the one to fix first.
        let ids_unique = index.len() == rb.activities.len();
        let monitor = starts
            .iter()
            .copied()
            .find(|&i| crate::monitor::is_monitor(&rb.activities[i].ty));
        if ids_unique && starts.len() > 1 && monitor.is_none() {
            let ids = starts
                .iter()
                .map(|&i| rb.activities[i].id.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            self.err("links", format!("a runbook has one start activity (no incoming link), but these have none: {ids}; link them or remove the extra ones"));
        }
        let parameters = self.parameters();
        if ids_unique {
            for (path, why) in crate::monitor::problems(rb, &starts, !parameters.is_empty()) {
                self.err(path, why);
            }
        }
        let mut runbook = rb.clone();
        if monitor.is_some() {
            // A monitor runbook's job is its one running monitor, whatever the file says.
            runbook.concurrency = 1;
        }
        let mut variables: Vec<String> = ctx.variables.into_iter().collect();
        variables.sort();
        let mut groups: Vec<String> = ctx.groups.into_iter().collect();
        groups.sort();
        Some(Plan {
            runbook,
            steps,
            starts,
            monitor,
            parameters,
            returns,
            variables,
            groups,
        })
    }

    fn index_activities(&mut self) -> HashMap<String, usize> {
        let mut index = HashMap::new();
        for (i, a) in self.rb.activities.iter().enumerate() {
            // An id too long is indexed all the same, so links to it resolve.
            let id_fits = self.fits(format!("activities/{i}/id"), "the activity id", &a.id, MAX_ID_CHARS);
            if id_fits && !is_identifier(&a.id) {
                self.err(
                    format!("activities/{i}/id"),
                    format!(
                        "'{}' is not a valid id: use letters, digits and _, not starting with a digit",
                        a.id
                    ),
                );
            }
            if index.insert(a.id.clone(), i).is_some() {
                self.err(
                    format!("activities/{i}/id"),
                    format!("duplicate activity id '{}': ids must be unique in a runbook", a.id),
                );
            }
            if let Some(name) = &a.name {
                self.fits(
                    format!("activities/{i}/name"),
                    "the activity name",
                    name,
                    MAX_NAME_CHARS,
                );
            }
        }
        index
    }

    fn type_info(&mut self, i: usize, a: &ActivityDef) -> Option<TypeInfo> {
        let path = format!("activities/{i}");
        if !self.fits(format!("{path}/type"), "the activity type", &a.ty, MAX_ID_CHARS) {
            return None;
        }
        let Some(info) = self.catalog.describe(&a.ty, &a.properties) else {
            let names = self.catalog.type_names();
            let hint = closest(&a.ty, &names)
                .map(|n| format!(" (did you mean '{n}'?)"))
                .unwrap_or_default();
            self.err(
                format!("{path}/type"),
                format!(
                    "activity '{}': unknown activity type '{}'{hint}; `scorch activities` lists the known types",
                    a.id, a.ty
                ),
            );
            return None;
        };
        match &a.properties {
            Value::Null => {}
            Value::Object(props) => {
                for key in props.keys().filter(|k| !takes(&info.properties, k)) {
                    self.err(
                        format!("{path}/properties/{key}"),
                        format!(
                            "activity '{}': {} has no property '{key}' (it takes: {})",
                            a.id,
                            a.ty,
                            info.properties.join(", ")
                        ),
                    );
                }
            }
            _ => self.err(format!("{path}/properties"), "properties must be a mapping"),
        }
        let given = |k: &str| a.properties.get(k).is_some_and(|v| !v.is_null());
        for key in info
            .required
            .iter()
            .filter(|k| !given(k) && (k.as_str() != "host" || !given(HOSTS)))
        {
            self.err(
                format!("{path}/properties"),
                format!("activity '{}': {} needs the property '{key}'", a.id, a.ty),
            );
        }
        Some(info)
    }

    /// Outgoing links per activity (link index, target) and incoming sources.
    #[allow(clippy::type_complexity)]
    fn links(&mut self, index: &HashMap<String, usize>) -> (Vec<Vec<(usize, usize)>>, Vec<Vec<usize>>) {
        let n = self.rb.activities.len();
        let mut outgoing = vec![Vec::new(); n];
        let mut inputs = vec![Vec::new(); n];
        for (li, link) in self.rb.links.iter().enumerate() {
            if let Some(name) = &link.name {
                self.fits(format!("links/{li}/name"), "the link name", name, MAX_NAME_CHARS);
            }
            let from = index.get(&link.from).copied();
            let to = index.get(&link.to).copied();
            if from.is_none() {
                self.err(
                    format!("links/{li}/from"),
                    format!("link from '{}': no activity has that id", link.from),
                );
            }
            if to.is_none() {
                self.err(
                    format!("links/{li}/to"),
                    format!("link to '{}': no activity has that id", link.to),
                );
            }
            if let (Some(f), Some(t)) = (from, to) {
                if f == t {
                    self.err(
                        format!("links/{li}"),
                        format!(
                            "a link from '{}' to itself: use loop on the activity to repeat it",
                            link.from
                        ),
                    );
                    continue;
                }
                outgoing[f].push((li, t));
                if !inputs[t].contains(&f) {
                    inputs[t].push(f);
                }
            }
        }
        (outgoing, inputs)
    }

    /// Kahn's algorithm; a cycle is reported with the activities on it.
    fn topological_order(&mut self, outgoing: &[Vec<(usize, usize)>]) -> Option<Vec<usize>> {
        let n = outgoing.len();
        let mut indegree = vec![0usize; n];
        for targets in outgoing {
            for &(_, t) in targets {
                indegree[t] += 1;
            }
        }
        let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop() {
            order.push(i);
            for &(_, t) in &outgoing[i] {
                indegree[t] -= 1;
                if indegree[t] == 0 {
                    ready.push(t);
                }
            }
        }
        if order.len() < n {
            let ids: Vec<&str> = (0..n)
                .filter(|&i| indegree[i] > 0)
                .map(|i| self.rb.activities[i].id.as_str())
                .collect();
            self.err(
                "links",
                format!(
                    "the links form a cycle through {}: runbooks are acyclic; use loop on an activity to repeat it",
                    ids.join(", ")
                ),
            );
            return None;
        }
        Some(order)
    }

    fn published_fields(
        &mut self,
        index: &HashMap<String, usize>,
        infos: &[Option<TypeInfo>],
    ) -> Vec<Option<Vec<String>>> {
        let mut fields: Vec<Option<Vec<String>>> = infos
            .iter()
            .map(|i| i.as_ref().and_then(|t| t.published.clone()))
            .collect();
        for (i, a) in self
            .rb
            .activities
            .iter()
            .enumerate()
            .filter(|(_, a)| a.ty == "junction")
        {
            let Some(from) = a.properties.get("return_data_from").filter(|v| !v.is_null()) else {
                continue;
            };
            let path = format!("activities/{i}/properties/return_data_from");
            match from.as_str().and_then(|id| index.get(id)) {
                Some(&j) => {
                    fields[i] = fields[j].clone().map(|mut f| {
                        f.push("selected_branch".into());
                        f
                    });
                }
                None => self.err(
                    path,
                    format!("junction '{}': return_data_from names no activity ({from})", a.id),
                ),
            }
        }
        fields
    }

    fn returns(&mut self) -> Vec<(String, ValueType)> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (i, r) in self.rb.returns.iter().enumerate() {
            self.fits(
                format!("returns/{i}/name"),
                "the return value name",
                &r.name,
                MAX_ID_CHARS,
            );
            if !seen.insert(r.name.clone()) {
                self.err(
                    format!("returns/{i}/name"),
                    format!("return value '{}' is declared twice", r.name),
                );
            }
            match ValueType::parse(&r.ty) {
                Some(t) => out.push((r.name.clone(), t)),
                None => self.err(
                    format!("returns/{i}/type"),
                    format!("unknown type '{}' (use {TYPE_NAMES})", r.ty),
                ),
            }
        }
        out
    }

    fn parameters(&mut self) -> Vec<ParamDef> {
        let mut out: Vec<ParamDef> = Vec::new();
        for (i, a) in self
            .rb
            .activities
            .iter()
            .enumerate()
            .filter(|(_, a)| a.ty == "initialize_data")
        {
            let path = format!("activities/{i}/properties/parameters");
            let list = match a.properties.get("parameters") {
                None | Some(Value::Null) => continue,
                Some(v) => v,
            };
            let defs: Vec<ParamDef> = match serde_json::from_value(list.clone()) {
                Ok(d) => d,
                Err(e) => {
                    self.err(
                        path,
                        format!("parameters must be a list of {{name, type, default}}: {e}"),
                    );
                    continue;
                }
            };
            for (p, def) in defs.into_iter().enumerate() {
                let ppath = format!("{path}/{p}");
                self.fits(format!("{ppath}/name"), "the parameter name", &def.name, MAX_ID_CHARS);
                if out.iter().any(|d| d.name == def.name) {
                    self.err(
                        format!("{ppath}/name"),
                        format!("parameter '{}' is declared twice", def.name),
                    );
                }
                match ValueType::parse(&def.ty) {
                    None => self.err(
                        format!("{ppath}/type"),
                        format!("parameter '{}': unknown type '{}' (use {TYPE_NAMES})", def.name, def.ty),
                    ),
                    Some(t) => {
                        if let Some(Err(why)) = def.default.as_ref().map(|d| t.coerce(d)) {
                            self.err(
                                format!("{ppath}/default"),
                                format!(
                                    "parameter '{}': the default does not fit type {}: {why}",
                                    def.name,
                                    t.as_str()
                                ),
                            );
                        }
                    }
                }
                out.push(def);
            }
        }
        out
    }

    fn properties(&mut self, path: &str, i: usize, a: &ActivityDef, ctx: &mut RefCheck) -> PropTemplate {
        let compiled = PropTemplate::compile(&a.properties);
        let template = match compiled {
            Ok(t) => t,
            Err((key, e)) => {
                self.err(
                    format!("{path}/properties/{key}"),
                    format!("activity '{}': {}", a.id, e.message),
                );
                return PropTemplate::Value(Value::Null);
            }
        };
        for (key, reference) in template.references() {
            if let Err(why) = ctx.check(reference, i, false) {
                self.err(
                    format!("{path}/properties/{key}"),
                    format!("activity '{}', property '{key}': {why}", a.id),
                );
            }
        }
        if a.ty == "return_data" {
            self.check_return_names(path, a);
        }
        template
    }

    fn check_return_names(&mut self, path: &str, a: &ActivityDef) {
        let Some(values) = a.properties.get("values").and_then(Value::as_object) else {
            return;
        };
        for name in values.keys() {
            if !self.rb.returns.iter().any(|r| &r.name == name) {
                self.err(
                    format!("{path}/properties/values/{name}"),
                    format!(
                        "return_data '{}': '{name}' is not declared in the runbook's returns",
                        a.id
                    ),
                );
            }
        }
    }

    /// Conditions see the source activity's own row as well as earlier ones.
    fn conditions(&mut self, path: &str, defs: &[ConditionDef], source: usize, ctx: &mut RefCheck) -> Vec<Condition> {
        defs.iter()
            .enumerate()
            .filter_map(|(k, def)| {
                let cpath = format!("{path}/{k}");
                match compile_condition(def) {
                    Ok(cond) => {
                        if let Condition::Data { reference, value, .. } = &cond {
                            for r in std::iter::once(reference).chain(value.references()) {
                                if let Err(why) = ctx.check(r, source, true) {
                                    self.err(cpath.clone(), why);
                                }
                            }
                        }
                        Some(cond)
                    }
                    Err(why) => {
                        self.err(cpath, why);
                        None
                    }
                }
            })
            .collect()
    }

    fn duration(&mut self, path: &str, text: Option<&str>) -> Duration {
        match text.map(parse_duration) {
            None => Duration::ZERO,
            Some(Ok(d)) => d,
            Some(Err(why)) => {
                self.err(path, why);
                Duration::ZERO
            }
        }
    }

    fn retry(&mut self, path: &str, def: &RetryDef) -> Option<RetryPlan> {
        RetryPlan::compile(def)
            .map_err(|problems| {
                for (key, why) in problems {
                    self.err(format!("{path}/retry/{key}"), why);
                }
            })
            .ok()
    }

    fn flatten(&mut self, path: &str, value: &Value) -> Flatten {
        match value {
            Value::Null | Value::Bool(false) => Flatten::None,
            Value::Bool(true) => Flatten::Separator("\n".into()),
            Value::Object(m) if m.len() == 1 && m.get("separator").is_some_and(Value::is_string) => {
                Flatten::Separator(m["separator"].as_str().unwrap_or_default().to_string())
            }
            Value::Object(m) if m.len() == 1 && m.get("csv") == Some(&Value::Bool(true)) => Flatten::Csv,
            _ => {
                self.err(
                    format!("{path}/flatten"),
                    "flatten is true, { separator: \", \" } or { csv: true }",
                );
                Flatten::None
            }
        }
    }
}

fn compile_condition(def: &ConditionDef) -> Result<Condition, String> {
    match (&def.status, &def.data) {
        (Some(statuses), None) => {
            if def.op.is_some() || def.value.is_some() {
                return Err("a status condition takes only 'status'".into());
            }
            let parsed = statuses
                .iter()
                .map(|s| Status::parse(s).ok_or_else(|| format!("unknown status '{s}' (use success, warning, failed)")))
                .collect::<Result<Vec<_>, _>>()?;
            if parsed.is_empty() {
                return Err("status needs at least one of success, warning, failed".into());
            }
            Ok(Condition::Status(parsed))
        }
        (None, Some(data)) => {
            let reference = crate::template::parse_reference(data).map_err(|e| e.message)?;
            if !matches!(reference, Reference::Activity { .. }) {
                return Err(format!("data '{data}' must name ACTIVITY_ID.FIELD"));
            }
            let op_text = def.op.as_deref().ok_or("a data condition needs 'op'")?;
            let op = Op::parse(op_text).ok_or_else(|| format!("unknown op '{op_text}' (use {})", Op::names()))?;
            let value_text = match &def.value {
                None if op.is_unary() => String::new(),
                None => return Err(format!("op {op_text} needs a 'value'")),
                Some(v) => crate::template::value_text(v),
            };
            let value = Template::parse(&value_text).map_err(|e| e.message)?;
            Ok(Condition::Data {
                reference,
                op,
                value,
                case_sensitive: def.case_sensitive,
            })
        }
        (Some(_), Some(_)) => Err("a condition is either { status: [...] } or { data, op, value }, not both".into()),
        (None, None) => Err("a condition needs 'status' or 'data'".into()),
    }
}

/// For each activity, the set of activities with a path into it.
fn ancestor_sets(order: &[usize], inputs: &[Vec<usize>]) -> Vec<HashSet<usize>> {
    let mut sets: Vec<HashSet<usize>> = vec![HashSet::new(); inputs.len()];
    for &i in order {
        let mut set = HashSet::new();
        for &p in &inputs[i] {
            set.insert(p);
            set.extend(sets[p].iter().copied());
        }
        sets[i] = set;
    }
    sets
}

/// The property that runs an activity taking `host` once per host (the engine's fan-out).
pub const HOSTS: &str = "hosts";

/// Whether an activity with these properties takes `key`: its own, and `hosts` where it takes `host`.
fn takes(properties: &[String], key: &str) -> bool {
    properties.iter().any(|p| p == key) || (key == HOSTS && properties.iter().any(|p| p == "host"))
}

/// Checks that references name data that can exist when they are read.
struct RefCheck<'a> {
    index: &'a HashMap<String, usize>,
    ancestors: &'a [HashSet<usize>],
    published: &'a [Option<Vec<String>>],
    variables: HashSet<String>,
    groups: HashSet<String>,
}

impl RefCheck<'_> {
    /// `own`: the reference may name the activity itself (loop conditions).
    fn check(&mut self, reference: &Reference, at: usize, own: bool) -> Result<(), String> {
        let (activity, field) = match reference {
            Reference::Variable(name) => {
                self.variables.insert(name.clone());
                return Ok(());
            }
            Reference::Group(name) => {
                self.groups.insert(name.clone());
                return Ok(());
            }
            Reference::Runbook(_) => return Ok(()),
            Reference::Activity { activity, field } => (activity, field),
        };
        let Some(&j) = self.index.get(activity.as_str()) else {
            return Err(format!(
                "{{{{ {activity}.{field} }}}}: no activity has the id '{activity}'"
            ));
        };
        let reachable = if j == at { own } else { self.ancestors[at].contains(&j) };
        if !reachable {
            return Err(format!(
                "{{{{ {activity}.{field} }}}}: '{activity}' does not run before this point on any path; link it in front or refer to an activity that does"
            ));
        }
        match &self.published[j] {
            Some(fields) if !fields.iter().any(|f| f == field) && !COMMON_FIELDS.contains(&field.as_str()) => {
                Err(format!(
                    "{{{{ {activity}.{field} }}}}: '{activity}' does not publish '{field}' (it publishes: {})",
                    fields
                        .iter()
                        .map(String::as_str)
                        .chain(COMMON_FIELDS)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The known name nearest to `name`, if close enough to be a typo.
fn closest<'a>(name: &str, names: &'a [String]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (crate::names::edit_distance(name, n), n))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.as_str())
}
