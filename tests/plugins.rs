//! Plugin discovery, listing, generated help, and refusal of files that are not
//! compatible plugins, with the real binary and real plugin libraries.

use infty_e2e::compat::{build_against_previous_sdk, build_altered_plugin, next_incompatible, Alteration};
use infty_e2e::{artifacts, Infty};
use infty_sdk::ABI_VERSION;
use serde_json::Value;

fn plugins_json(infty: &Infty) -> Value {
    let run = infty.run(&["plugins", "--json"]);
    run.assert_ok();
    serde_json::from_slice(&run.stdout).expect("plugins --json prints JSON")
}

fn ids(json: &Value) -> Vec<String> {
    json["plugins"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn plugins_json_describes_each_plugin_and_its_schemas() {
    let infty =
        Infty::with_plugins(&[artifacts().plugin("infty_basic"), artifacts().plugin("infty_passthrough")]);
    let json = plugins_json(&infty);
    assert_eq!(json["sdk_version"], ABI_VERSION);
    assert_eq!(ids(&json), ["org.infty.basic", "org.example.passthrough"]);
    let basic = &json["plugins"][0];
    assert_eq!(basic["version"], "0.1.0");
    assert_eq!(basic["sdk_version"], ABI_VERSION);
    assert!(basic["file"].as_str().unwrap().ends_with("libinfty_basic.so"));
    let names: Vec<&str> =
        basic["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["scale", "offset", "clamp", "to-gray", "crop"]);
    let factor = &basic["items"][0]["params"][0];
    assert_eq!(factor["name"], "factor");
    assert_eq!(factor["type"], "float");
    assert_eq!(factor["default"], 1.0);
    assert_eq!(factor["max"]["value"], 1e6);
    let standard = &basic["items"][3]["params"][0];
    assert_eq!(standard["choices"], serde_json::json!(["rec709", "rec601"]));
    assert_eq!(json["failed"], serde_json::json!([]));
}

#[test]
fn plugins_next_to_the_executable_load_and_the_current_folder_is_never_searched() {
    let infty = Infty::bare();
    std::fs::create_dir(infty.exe_plugin_dir()).unwrap();
    std::fs::copy(artifacts().plugin("infty_basic"), infty.exe_plugin_dir().join("libinfty_basic.so"))
        .unwrap();
    // A plugin in the current folder (the scratch folder) must be ignored.
    std::fs::copy(artifacts().plugin("infty_passthrough"), infty.path("libinfty_passthrough.so")).unwrap();
    let json = plugins_json(&infty);
    assert_eq!(ids(&json), ["org.infty.basic"]);
}

#[test]
fn the_example_plugin_is_listed_from_its_folder_and_copies_pixels() {
    let mut infty = Infty::basic();
    let folder = infty.path("passthrough-folder");
    std::fs::create_dir(&folder).unwrap();
    std::fs::copy(artifacts().plugin("infty_passthrough"), folder.join("libinfty_passthrough.so")).unwrap();
    infty.set_plugin_path(&[folder]);
    let listing = infty.run(&["plugins"]);
    listing.assert_ok();
    let text = listing.stdout_text();
    assert!(text.starts_with(&format!("org.example.passthrough 0.1.0 (plugin ABI {ABI_VERSION})")), "{text}");
    assert!(text.contains("passthrough      operator  Copy the input unchanged (example plugin)"), "{text}");
    let image = infty_e2e::images::Image::pattern(50, 40, 3, "u16");
    std::fs::write(infty.path("in.tif"), image.encode_tiff()).unwrap();
    infty.pipeline("read in.tif ! passthrough ! write out.tif").assert_ok();
    assert_eq!(infty_e2e::images::Image::load(&infty.path("out.tif")), image);
}

#[test]
fn a_second_copy_of_a_plugin_is_reported_and_skipped() {
    let mut infty = Infty::basic();
    let (a, b) = (infty.path("a"), infty.path("b"));
    for folder in [&a, &b] {
        std::fs::create_dir(folder).unwrap();
        std::fs::copy(artifacts().plugin("infty_basic"), folder.join("libinfty_basic.so")).unwrap();
    }
    infty.set_plugin_path(&[a.clone(), b.clone()]);
    let json = plugins_json(&infty);
    assert_eq!(ids(&json), ["org.infty.basic"]);
    assert!(json["plugins"][0]["file"].as_str().unwrap().starts_with(a.to_str().unwrap()));
    let reason = json["failed"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("plugin org.infty.basic is already loaded from "), "{reason}");
}

#[test]
fn help_is_generated_from_the_schema() {
    let infty = Infty::basic();
    let help = infty.run(&["help", "clamp"]);
    help.assert_ok();
    let text = help.stdout_text();
    let expected_lines = [
        "clamp — Limit every sample to [min, max]",
        "  infty run read IN ! clamp [--min <float>] [--max <float>] ! write OUT",
        "  infty clamp IN OUT [--min <float>] [--max <float>]",
        "  --min <float>",
        "      lowest value kept",
        "      [default: 0]",
    ];
    for line in expected_lines {
        assert!(text.lines().any(|l| l == line), "missing line {line:?} in:\n{text}");
    }
    assert_eq!(infty.run(&["clamp", "--help"]).stdout_text(), text, "`infty clamp --help` is the same text");
    let scale = infty.run(&["help", "scale"]).stdout_text();
    assert!(scale.contains("      [default: 1; range: [-1000000, 1000000]]"), "{scale}");
    let crop = infty.run(&["help", "crop"]).stdout_text();
    assert!(
        crop.contains("--width <int>\n      width in pixels\n      [required; range: [1, 4294967295]]"),
        "{crop}"
    );
    let write = infty.run(&["help", "write"]).stdout_text();
    assert!(write.contains("--depth <auto|u8|u16|f32>"), "{write}");
    assert!(
        write.starts_with("write — Write an image file or standard output (built in)\nBuilt into infty."),
        "{write}"
    );
    let step_help = infty.pipeline("read a.png ! to-gray --help ! write b.png");
    assert!(
        step_help.stdout_text().starts_with("to-gray — Convert RGB to gray"),
        "{}",
        step_help.stdout_text()
    );
}

#[test]
fn incompatible_and_foreign_libraries_are_reported_in_one_line_and_others_still_load() {
    let mut infty = Infty::basic();
    let folder = infty.path("bad-plugins");
    std::fs::create_dir(&folder).unwrap();
    // Random bytes named like a library.
    std::fs::write(folder.join("libjunk.so"), b"\x7fELF this is not really a library").unwrap();
    // A real shared library that is not an infty plugin.
    std::fs::write(infty.path("foreign.c"), "int foreign_answer(void) { return 42; }\n").unwrap();
    let cc = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(folder.join("libforeign.so"))
        .arg(infty.path("foreign.c"))
        .status()
        .expect("run cc");
    assert!(cc.success());
    // Plugins built against an incompatible SDK: another ABI version, and the same ABI
    // version with a different layout.
    for alteration in [Alteration::NextAbi, Alteration::ExtraErrorKind] {
        let library = build_altered_plugin(alteration);
        std::fs::copy(&library, folder.join(library.file_name().unwrap())).unwrap();
    }
    let basic_folder = infty.path("plugin-path");
    infty.set_plugin_path(&[basic_folder, folder.clone()]);

    let json = plugins_json(&infty);
    assert_eq!(ids(&json), ["org.infty.basic"], "the good plugin still loads");
    let failed: Vec<(String, String)> = json["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            (file.rsplit('/').next().unwrap().to_string(), f["reason"].as_str().unwrap().to_string())
        })
        .collect();
    let reason = |file: &str| {
        &failed.iter().find(|(f, _)| f == file).unwrap_or_else(|| panic!("{file} in {failed:?}")).1
    };
    let (next, abi) = (next_incompatible(ABI_VERSION), ABI_VERSION);
    assert_eq!(
        reason("libaltered_next_abi.so"),
        &format!(
            "built for plugin ABI {next}, but this infty uses plugin ABI {abi} (incompatible); \
             rebuild the plugin against an infty-sdk with ABI {abi}"
        )
    );
    assert_eq!(
        reason("libaltered_extra_error_kind.so"),
        &format!(
            "its plugin interface layout differs from plugin ABI {abi} (incompatible); \
             rebuild the plugin against an infty-sdk with ABI {abi}"
        )
    );
    assert!(reason("libjunk.so").starts_with("not a loadable library ("), "{failed:?}");
    assert_eq!(reason("libforeign.so"), "not an infty plugin (no infty root module in it)");

    // Every other command warns with exactly one line per failed file, and still works.
    let image = infty_e2e::images::Image::pattern(10, 10, 1, "u8");
    std::fs::write(infty.path("in.png"), image.encode(image::ImageFormat::Png)).unwrap();
    let run = infty.pipeline("read in.png ! scale --factor 1 ! write out.png");
    run.assert_ok();
    let warnings: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warnings.len(), 4, "{}", run.stderr);
    assert!(warnings.iter().all(|w| w.starts_with("infty: warning: skipped plugin ")), "{}", run.stderr);
}

/// Issue 18: the task code left the SDK for infty-kit (SDK 0.1.1, the layout of 0.1.0).
/// A plugin built against the previous release (infty-sdk 0.1.0, the task code still
/// inside) loads, reports its ABI and runs.
#[test]
fn a_plugin_built_against_the_previous_sdk_still_loads() {
    let library = build_against_previous_sdk();
    let mut infty = Infty::basic();
    infty.set_plugin_path(&[library.parent().unwrap().to_path_buf()]);
    let json = plugins_json(&infty);
    assert_eq!(json["failed"], serde_json::json!([]), "{json}");
    assert_eq!(ids(&json), ["org.example.passthrough"]);
    assert_eq!(json["plugins"][0]["sdk_version"], "0.1.0");
    let image = infty_e2e::images::Image::pattern(30, 20, 3, "u8");
    std::fs::write(infty.path("in.png"), image.encode(image::ImageFormat::Png)).unwrap();
    infty.pipeline("read in.png ! passthrough ! write out.png").assert_ok();
    assert_eq!(infty_e2e::images::Image::load(&infty.path("out.png")), image);
}

/// The operator tutorial of docs/plugins.md, built as a user would build it.
#[test]
fn the_guide_operator_tutorial_builds_loads_and_runs() {
    let source = infty_e2e::doc_rust_block("docs/plugins.md", "## Operators");
    let library = infty_e2e::compat::build_plugin("readme-invert", Alteration::None, &source);
    let mut infty = Infty::basic();
    infty.set_plugin_path(&[library.parent().unwrap().to_path_buf()]);
    let image = infty_e2e::images::Image::pattern(20, 10, 3, "u8");
    std::fs::write(infty.path("in.png"), image.encode(image::ImageFormat::Png)).unwrap();
    infty.run(&["invert", "in.png", "out.png"]).assert_ok();
    let inverted = infty_e2e::images::Image::load(&infty.path("out.png")).values();
    let expected: Vec<f64> = image.values().iter().map(|v| 255.0 - v).collect();
    assert_eq!(inverted, expected);
    assert!(infty
        .run(&["help", "invert"])
        .stdout_text()
        .starts_with("invert — Invert every sample: 1 - v\n"));
}
