//! Text generated from declarations: `infty help <item>` and `infty plugins`.

use std::fmt::Write as _;

use infty_sdk::{ItemKind, ItemSpec, ParamKind, ParamSpec};
use serde_json::{json, Value};

use super::library::LoadedPlugin;
use super::registry::Registry;

/// Where an item comes from, for the help header.
pub enum Origin<'a> {
    BuiltIn,
    Plugin(&'a LoadedPlugin),
}

/// `<float>`, `<rec709|rec601>`, or nothing for a switch.
fn value_hint(param: &ParamSpec) -> String {
    match param.kind {
        ParamKind::Bool => String::new(),
        ParamKind::Choice => {
            let choices: Vec<&str> = param.choices.iter().map(|c| c.as_str()).collect();
            format!(" <{}>", choices.join("|"))
        }
        kind => format!(" <{}>", kind.as_str()),
    }
}

/// The full help of one item.
pub fn item_help(spec: &ItemSpec, origin: Origin<'_>) -> String {
    let mut out = format!("{} — {}\n", spec.name, spec.summary);
    match origin {
        Origin::BuiltIn => out.push_str("Built into infty.\n"),
        Origin::Plugin(p) => {
            let m = &p.manifest;
            let _ = writeln!(
                out,
                "{} from {} {} ({})",
                capitalised(spec.kind),
                m.id,
                m.version,
                p.file.display()
            );
        }
    }
    let optional: Vec<String> = spec
        .params
        .iter()
        .filter(|p| p.name != "path")
        .map(|p| {
            let flag = format!("--{}{}", p.name, value_hint(p));
            if p.default.is_some() {
                format!("[{flag}]")
            } else {
                flag
            }
        })
        .collect();
    let flags = if optional.is_empty() { String::new() } else { format!(" {}", optional.join(" ")) };
    out.push_str("\nUsage:\n");
    match spec.name.as_str() {
        "read" => {
            let _ = writeln!(out, "  infty run read IN{flags} ! ... ! write OUT");
        }
        "write" => {
            let _ = writeln!(out, "  infty run read IN ! ... ! write OUT{flags}");
        }
        name if spec.kind == ItemKind::Operator => {
            let _ = writeln!(out, "  infty run read IN ! {name}{flags} ! write OUT");
            let _ = writeln!(out, "  infty {name} IN OUT{flags}");
        }
        name if spec.kind == ItemKind::Sampler => {
            let _ = writeln!(out, "  chosen by tasks (e.g. --sampler {name}); a plugin builds it with");
            let _ = writeln!(out, "  infty_sdk::host::sampler(\"{name}\", &[(\"steps\", \"50\"), ...])");
        }
        name if spec.kind == ItemKind::Model => {
            let _ = writeln!(out, "  built by tasks and plugins, e.g.");
            let _ = writeln!(
                out,
                "  infty_sdk::host::model(\"{name}\", &[(\"checkpoint\", \"m.safetensors\"), ...])"
            );
        }
        name if spec.kind == ItemKind::Task => {
            let required = spec.params.iter().filter(|p| p.default.is_none());
            let args: Vec<String> = required.map(|p| format!(" {}", p.name.to_uppercase())).collect();
            let optional = spec.params.iter().filter(|p| p.default.is_some());
            let flags: Vec<String> = optional.map(|p| format!(" [--{}{}]", p.name, value_hint(p))).collect();
            let _ = writeln!(out, "  infty {name}{}{}", args.concat(), flags.concat());
            let _ = writeln!(out, "  (required parameters may be given in this order, or as --name value)");
        }
        name => {
            let _ = writeln!(out, "  infty {name}{flags}");
        }
    }
    if !spec.params.is_empty() {
        out.push_str("\nParameters:\n");
        for p in spec.params.iter() {
            out.push_str(&param_help(p));
        }
    }
    if !spec.help.is_empty() {
        let _ = write!(out, "\n{}\n", spec.help);
    }
    out
}

fn param_help(p: &ParamSpec) -> String {
    let mut out = format!("  --{}{}\n      {}\n", p.name, value_hint(p), p.summary);
    let mut facts = Vec::new();
    match p.default.as_ref().into_option() {
        Some(default) => facts.push(format!("default: {default}")),
        None => facts.push("required".to_string()),
    }
    if let Some(range) = p.range_text() {
        facts.push(format!("range: {range}"));
    }
    let _ = writeln!(out, "      [{}]", facts.join("; "));
    if !p.help.is_empty() {
        let _ = writeln!(out, "      {}", p.help);
    }
    out
}

fn capitalised(kind: ItemKind) -> String {
    let name = kind.as_str();
    name[..1].to_uppercase() + &name[1..]
}

/// `infty plugins`: one block per plugin, then the files that failed.
pub fn plugins_text(registry: &Registry) -> String {
    let mut out = String::new();
    if registry.plugins.is_empty() {
        out.push_str("No plugins found. infty looks in a 'plugins' folder next to the executable and in INFTY_PLUGIN_PATH.\n");
    }
    for p in &registry.plugins {
        let m = &p.manifest;
        let _ = writeln!(out, "{} {} (plugin ABI {})  {}", m.id, m.version, m.sdk_version, p.file.display());
        for item in m.items.iter() {
            let _ = writeln!(out, "  {:<16} {:<9} {}", item.name, item.kind.as_str(), item.summary);
        }
    }
    for f in &registry.failures {
        let _ = writeln!(out, "failed: {}: {}", f.file.display(), f.reason);
    }
    out
}

fn param_json(p: &ParamSpec) -> Value {
    let bound = |b: Option<infty_sdk::Bound>| b.map(|b| json!({"value": b.value, "inclusive": b.inclusive}));
    let default = p.default.as_ref().into_option().map(|v| match v {
        infty_sdk::ParamValue::Float(f) => json!(f),
        infty_sdk::ParamValue::Int(i) => json!(i),
        infty_sdk::ParamValue::Bool(b) => json!(b),
        infty_sdk::ParamValue::Text(t) => json!(t.as_str()),
    });
    json!({
        "name": p.name.as_str(),
        "type": p.kind.as_str(),
        "summary": p.summary.as_str(),
        "default": default,
        "min": bound(p.min.into_option()),
        "max": bound(p.max.into_option()),
        "choices": p.choices.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
    })
}

/// `infty plugins --json`.
pub fn plugins_json(registry: &Registry) -> Value {
    let plugins: Vec<Value> = registry
        .plugins
        .iter()
        .map(|p| {
            let m = &p.manifest;
            let items: Vec<Value> = m
                .items
                .iter()
                .map(|i| {
                    json!({
                        "name": i.name.as_str(),
                        "kind": i.kind.as_str(),
                        "summary": i.summary.as_str(),
                        "params": i.params.iter().map(param_json).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({
                "id": m.id.as_str(),
                "version": m.version.as_str(),
                "sdk_version": m.sdk_version.as_str(),
                "file": p.file.display().to_string(),
                "items": items,
            })
        })
        .collect();
    let failed: Vec<Value> = registry
        .failures
        .iter()
        .map(|f| json!({"file": f.file.display().to_string(), "reason": f.reason}))
        .collect();
    json!({"sdk_version": infty_sdk::ABI_VERSION, "plugins": plugins, "failed": failed})
}
