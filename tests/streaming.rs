//! The streaming tile engine through the real binary: tiled output equals the
//! whole-image result, opens in an independent reader (tifffile), resumes after
//! `kill -9` with identical pixels, merges shards into the unsharded output, and keeps
//! peak memory independent of the image size.

use std::path::Path;

use infty_e2e::images::{Image, Samples};
use infty_e2e::{artifacts, test_python, workspace_root, Infty};
use infty_mollifier::Mollify;
use infty_sdk::testing::run_tiled;
use infty_sdk::{Operator, RasterInfo};

fn infty() -> Infty {
    Infty::with_plugins(&[artifacts().plugin("infty_mollifier"), artifacts().plugin("infty_basic")])
}

/// A `width × height` RGB u8 noise image written as a striped TIFF.
fn write_noise(infty: &Infty, name: &str, width: u32, height: u32) -> Image {
    let image = Image::pattern(width, height, 3, "u8");
    std::fs::write(infty.path(name), image.encode_tiff()).unwrap();
    image
}

fn pixels(infty: &Infty, name: &str) -> Image {
    Image::load(&infty.path(name))
}

/// u8 and u16 chains run on the file's own samples where every operator takes them
/// (`crop`, `scale`, `mollify`); their pixels must be the f32 chain's, rounded as the
/// writer rounds. Chains with two rounding steps, or a stage that takes f32 only, run in
/// f32 and must agree too.
#[test]
fn integer_chains_give_the_f32_chain_rounded() {
    let infty = infty();
    for depth in ["u8", "u16"] {
        let image = Image::pattern(700, 300, 3, depth);
        std::fs::write(infty.path("in.tif"), image.encode_tiff()).unwrap();
        for chain in [
            "mollify --sigma 1.5",
            "crop --x 5 --y 7 --width 600 --height 250 ! mollify --sigma 3 ! crop --x 1 --y 2 --width 500 --height 200",
            "scale --factor 1.3",
            "scale --factor 0.5 ! scale --factor 2",
            "mollify --sigma 1 ! to-gray",
        ] {
            infty.pipeline(&format!("read in.tif ! {chain} ! write int.tif --compression none")).assert_ok();
            infty.pipeline(&format!("read in.tif ! {chain} ! write f.tif --depth f32")).assert_ok();
            let Samples::F32(field) = pixels(&infty, "f.tif").samples else { panic!("f32 output") };
            let scale: f32 = if depth == "u8" { 255.0 } else { 65535.0 };
            let want: Vec<f64> = field.iter().map(|&v| f64::from((v.clamp(0.0, 1.0) * scale).round())).collect();
            let got = pixels(&infty, "int.tif").values();
            let differ = got.iter().zip(&want).filter(|(g, w)| g != w).count();
            assert_eq!((got.len(), differ), (want.len(), 0), "{depth}: {chain}");
        }
    }
}

/// `read ! write` copies stored tiles as they are only when they fit the output: same
/// tile size, depth, compression, predictor and byte order. Big-endian and differently tiled or
/// compressed inputs go through the decoder; the pixels are the input's either way.
#[test]
fn read_write_gives_the_input_pixels_whether_tiles_are_copied_or_decoded() {
    let infty = infty();
    let code = "import numpy, tifffile, sys; \
        a = (numpy.arange(300 * 520 * 3, dtype='u8') * 2654435761 % 65536).astype('u2').reshape(300, 520, 3); \
        [tifffile.imwrite(sys.argv[1] + name, a, tile=(t, t), byteorder=order, compression=comp, photometric='rgb') \
         for name, t, order, comp in [('le.tif', 256, '<', None), ('be.tif', 256, '>', None), \
                                      ('t128.tif', 128, '<', None), ('zlib.tif', 256, '<', 'zlib')]]; \
        tifffile.imwrite(sys.argv[1] + 'pred.tif', a, tile=(256, 256), compression='zlib', predictor=True, \
                         photometric='rgb')";
    let made =
        std::process::Command::new(test_python()).args(["-c", code]).arg(infty.path("in-")).status().unwrap();
    assert!(made.success());
    let mut reference = None;
    for name in ["le", "be", "t128", "zlib", "pred"] {
        // Deflate with horizontal differencing (the default) takes pred.tif's tiles as stored.
        let compression = if name == "pred" { "deflate" } else { "none" };
        infty
            .pipeline(&format!("read in-{name}.tif ! write out-{name}.tif --compression {compression}"))
            .assert_ok();
        let (input, output) =
            (pixels(&infty, &format!("in-{name}.tif")), pixels(&infty, &format!("out-{name}.tif")));
        assert!(input == output, "{name}: the output's pixels differ from the input's");
        let reference = reference.get_or_insert_with(|| input.clone());
        assert!(&output == reference, "{name}: the inputs were written with the same pixels");
    }
}

#[test]
fn tiled_output_equals_the_whole_image_mollifier() {
    let infty = infty();
    let image = write_noise(&infty, "in.tif", 1500, 1100);
    infty
        .pipeline("read in.tif ! mollify --sigma 2 ! write out.tif --depth f32 --compression zstd")
        .assert_ok();
    let Samples::U8(input) = &image.samples else { unreachable!() };
    // The whole image in one call, in-process, planar.
    let (w, h) = (1500usize, 1100usize);
    let planar: Vec<f32> = (0..3)
        .flat_map(|c| (0..w * h).map(move |i| (c, i)))
        .map(|(c, i)| f32::from(input[i * 3 + c]) / 255.0)
        .collect();
    let op = Mollify::new(&Mollify::spec().resolve([("sigma", "2")]).unwrap()).unwrap();
    let (_, whole) = run_tiled(&op, RasterInfo::new(1500, 1100, 3), &planar, 1 << 20).unwrap();
    let Samples::F32(tiled) = pixels(&infty, "out.tif").samples else { panic!("f32 output") };
    let err = (0..w * h * 3).map(|k| (tiled[k] - whole[(k % 3) * w * h + k / 3]).abs()).fold(0.0, f32::max);
    eprintln!("tiled (256 px) vs whole image: max abs difference {err:e}");
    assert!(err < 1e-5, "{err}");
}

/// tifffile's view of `name`: its JSON report and its pixels' raw bytes.
fn tifffile(infty: &Infty, name: &str) -> (serde_json::Value, Vec<u8>) {
    let script = workspace_root().join("tests/tools/tiff_read.py");
    let raw = infty.path("tifffile.raw");
    let out = std::process::Command::new(test_python())
        .arg(script)
        .arg(infty.path(name))
        .arg(&raw)
        .output()
        .unwrap();
    assert!(out.status.success(), "tifffile failed: {}", String::from_utf8_lossy(&out.stderr));
    (serde_json::from_slice(&out.stdout).unwrap(), std::fs::read(raw).unwrap())
}

fn raw_bytes(image: &Image) -> Vec<u8> {
    match &image.samples {
        Samples::U8(v) => v.clone(),
        Samples::U16(v) => v.iter().flat_map(|s| s.to_le_bytes()).collect(),
        Samples::F32(v) => v.iter().flat_map(|s| s.to_le_bytes()).collect(),
    }
}

#[test]
fn tiled_output_opens_in_tifffile_with_the_same_pixels() {
    let infty = infty();
    write_noise(&infty, "in.tif", 700, 333);
    // Compressed files carry a predictor by default: horizontal for integers, floating
    // point for f32 (tiled files); LZW is written in strips by the tiff crate.
    let tiles = serde_json::json!([256, 256]);
    for (args, dtype, compression, predictor, tile) in [
        ("--compression deflate", "uint8", "ADOBE_DEFLATE", 2, &tiles),
        ("--compression none --depth u16", "uint16", "NONE", 1, &tiles),
        ("--compression zstd --depth u16", "uint16", "ZSTD", 2, &tiles),
        ("--compression zstd --level 19 --depth u16", "uint16", "ZSTD", 2, &tiles),
        ("--compression deflate --level 1", "uint8", "ADOBE_DEFLATE", 2, &tiles),
        ("--compression deflate --depth f32", "float32", "ADOBE_DEFLATE", 3, &tiles),
        ("--compression zstd --depth f32 --predictor none", "float32", "ZSTD", 1, &tiles),
        ("--compression lzw --depth u16", "uint16", "LZW", 2, &serde_json::Value::Null),
    ] {
        infty.pipeline(&format!("read in.tif ! mollify --sigma 1 ! write out.tif {args}")).assert_ok();
        let (report, raw) = tifffile(&infty, "out.tif");
        assert_eq!(report["shape"], serde_json::json!([333, 700, 3]), "{args}");
        assert_eq!(report["dtype"], dtype, "{args}");
        assert_eq!(&report["tile"], tile, "{args}");
        assert_eq!(report["compression"], compression, "{args}");
        assert_eq!(report["predictor"], predictor, "{args}");
        if tile.is_array() {
            // Provenance is written by the tiled writer.
            let description: serde_json::Value =
                serde_json::from_str(report["description"].as_str().unwrap()).unwrap();
            assert!(description["pipeline"].as_str().unwrap().contains("mollify --sigma 1"), "{description}");
            assert_eq!(description["plugins"][0], "org.infty.mollifier@0.1.0");
        }
        assert!(
            raw == raw_bytes(&pixels(&infty, "out.tif")),
            "{args}: tifffile reads other pixels than the tiff crate"
        );
    }
    let run = infty.pipeline("read in.tif ! write out.tif --compression deflate --level 12");
    run.assert_refused("deflate takes 1 to 9");
    let run = infty.pipeline("read in.tif ! write out.tif --compression deflate --predictor float");
    run.assert_refused("the floating-point predictor is for f32 samples");
}

#[test]
fn a_pyramid_of_reduced_levels_is_written_as_subifds() {
    let infty = infty();
    write_noise(&infty, "in.tif", 700, 333);
    infty.pipeline("read in.tif ! mollify ! write out.tif --pyramid").assert_ok();
    let (report, _) = tifffile(&infty, "out.tif");
    let levels = serde_json::json!([[333, 700, 3], [167, 350, 3], [84, 175, 3]]);
    assert_eq!(report["levels"], levels, "{report}");
    // u8 rounding of a 2x2 mean: at most half a level.
    assert!(report["level1_error"].as_f64().unwrap() <= 0.5, "{report}");
    // Shards get their pyramid when merged.
    for shard in ["1/2", "2/2"] {
        infty
            .run(&["run", "--shard", shard, "read", "in.tif", "!", "write", "sharded.tif", "--pyramid"])
            .assert_ok();
    }
    infty.run(&["merge", "sharded.tif"]).assert_ok();
    let (report, _) = tifffile(&infty, "sharded.tif");
    assert_eq!(report["levels"], levels, "{report}");
    let run = infty.pipeline("read in.tif ! write out.png --pyramid");
    run.assert_refused("--pyramid need a TIFF file output written tiled");
}

/// Writes a 3000 × 2000 input, computes `job` (which writes `out.tif`) into
/// `whole.tif` uninterrupted, then starts `job` and returns it once its journal lists
/// `tiles` finished tiles.
fn start_and_wait(infty: &Infty, job: &str, tiles: usize) -> std::process::Child {
    write_noise(infty, "in.tif", 3000, 2000);
    infty.pipeline(&job.replace("out.tif", "whole.tif")).assert_ok();
    infty.spawn_until_journaled(&run_args(job, false), "out.tif", tiles)
}

/// `infty run [--resume] <job>` as arguments.
fn run_args(job: &str, resume: bool) -> Vec<&str> {
    let flags: &[&str] = if resume { &["run", "--resume"] } else { &["run"] };
    flags.iter().copied().chain(job.split_whitespace()).collect()
}

/// Continues `job` with `--resume` and checks it ends with the uninterrupted pixels.
fn resume_and_compare(infty: &Infty, job: &str) {
    infty.run(&run_args(job, true)).assert_ok();
    assert!(pixels(infty, "out.tif") == pixels(infty, "whole.tif"), "resumed pixels differ");
    infty.assert_no_output("never-written.tif");
}

#[test]
fn resume_after_kill_9_gives_identical_pixels() {
    let infty = infty();
    let job = "read in.tif ! mollify --sigma 3 ! write out.tif --compression zstd";
    let mut child = start_and_wait(&infty, job, 20);
    child.kill().unwrap(); // SIGKILL: no cleanup at all
    child.wait().unwrap();
    assert!(!infty.path("out.tif").exists(), "no output before the run completes");
    // Without --resume the unfinished run is not overwritten.
    let run = infty.pipeline(job);
    run.assert_refused("an unfinished run of 'out.tif' exists");
    resume_and_compare(&infty, job);
}

#[test]
fn shards_merged_equal_the_unsharded_output() {
    let infty = infty();
    write_noise(&infty, "in.tif", 1300, 900);
    let job = "read in.tif ! mollify --sigma 1.5 ! write out.tif";
    infty.pipeline(&job.replace("out.tif", "whole.tif")).assert_ok();
    let args: Vec<&str> = job.split_whitespace().collect();
    let shards: Vec<String> = (1..=3).map(|i| format!("{i}/3")).collect();
    // Synced to the disk or not, a shard holds the same tiles.
    let sync = |s: &str| if s == "1/3" { "--sync" } else { "--resume" };
    let mut children: Vec<_> = shards
        .iter()
        .map(|s| infty.spawn(&[&["run", sync(s), "--shard", s.as_str()], &args[..]].concat()))
        .collect();
    for child in &mut children {
        assert!(child.wait().unwrap().success());
    }
    // A missing shard is named.
    std::fs::rename(infty.path("out.shard-2-of-3.tif"), infty.path("elsewhere.tif")).unwrap();
    let run = infty.run(&["merge", "out.tif"]);
    run.assert_refused("shard(s) 2 of 3 are missing for 'out.tif'");
    infty.assert_no_output("out.tif");
    std::fs::rename(infty.path("elsewhere.tif"), infty.path("out.shard-2-of-3.tif")).unwrap();
    infty.run(&["merge", "--sync", "out.tif"]).assert_ok();
    assert!(pixels(&infty, "out.tif") == pixels(&infty, "whole.tif"), "merged pixels differ");
}

#[test]
fn peak_memory_does_not_grow_with_the_image_size() {
    let infty = infty();
    let mut peaks = Vec::new();
    for side in [2000u32, 6000] {
        write_noise(&infty, "in.tif", side, side);
        let (run, peak_kib) =
            infty.run_measured(&["run", "read", "in.tif", "!", "mollify", "!", "write", "out.tif"]);
        run.assert_ok();
        eprintln!("{side}x{side} RGB: peak RSS {} MiB", peak_kib >> 10);
        peaks.push(peak_kib);
        std::fs::remove_file(infty.path("in.tif")).unwrap();
    }
    // Nine times the pixels; the memory must stay flat (within 32 MiB) and small.
    assert!(peaks[1] < peaks[0] + (32 << 10), "peak RSS grew from {} to {} KiB", peaks[0], peaks[1]);
    assert!(peaks[1] < 256 << 10, "peak RSS {} KiB", peaks[1]);
    assert!(Path::new(&infty.path("out.tif")).exists());
}

/// A 16 × 16 gray u8 TIFF with one strip, built by hand, with `changes` applied to
/// its `(tag, type, value)` entries, then `data`.
fn handmade(changes: &[(u16, u16, u32)], data: &[u8]) -> Vec<u8> {
    use infty_e2e::images::{handmade_data_offset, handmade_tiff};
    let mut entries = vec![
        (256, 4, 16),
        (257, 4, 16),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 0),
        (277, 3, 1),
        (278, 4, 16),
        (279, 4, 256),
    ];
    for &(tag, kind, value) in changes {
        match entries.iter_mut().find(|e| e.0 == tag) {
            Some(entry) => *entry = (tag, kind, value),
            None => entries.push((tag, kind, value)),
        }
    }
    entries.sort();
    let offset = handmade_data_offset(entries.len());
    for entry in entries.iter_mut().filter(|e| e.0 == 273 && e.2 == 0) {
        entry.2 = offset;
    }
    handmade_tiff(&entries, data)
}

#[test]
fn bad_tiffs_are_refused_with_exit_2_and_nothing_written() {
    let infty = infty();
    let good = handmade(&[], &[7u8; 256]);
    std::fs::write(infty.path("good.tif"), &good).unwrap();
    infty.pipeline("read good.tif ! mollify ! write out.tif").assert_ok();
    std::fs::remove_file(infty.path("out.tif")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            good[..good.len() - 100].to_vec(),
            "chunk 0 claims bytes 122..378 but the file has 278 bytes",
        ),
        ("lying-offset", handmade(&[(273, 4, 1 << 20)], &[7; 256]), "chunk 0 claims bytes 1048576..1048832"),
        (
            "too-few-strips",
            handmade(&[(278, 4, 4), (279, 4, 64)], &[7; 256]),
            "cannot decode TIFF: format error: inconsistent sizes",
        ),
        ("corrupt-deflate", handmade(&[(259, 3, 8)], &[0xAB; 256]), "cannot decode chunk 0"),
        (
            "int32",
            handmade(&[(258, 3, 32), (279, 4, 1024), (339, 3, 2)], &[1; 1024]),
            "unsupported 32-bit integer samples",
        ),
        ("zero-size", handmade(&[(256, 4, 0)], &[7; 256]), "'zero-size.tif'"),
        (
            "absurd",
            handmade(&[(256, 4, 100_000_000), (257, 4, 100_000_000), (278, 4, 100_000_000)], &[7; 256]),
            "claims 100000000x100000000 pixels, more than 16777216 per side",
        ),
        (
            "short-strip",
            handmade(&[(279, 4, 200)], &[7; 256]),
            "uncompressed chunk 0 holds 200 bytes but its 16x16 pixels need 256",
        ),
    ];
    for (name, bytes, says) in cases {
        let file = format!("{name}.tif");
        std::fs::write(infty.path(&file), &bytes).unwrap();
        let run = infty.pipeline(&format!("read {file} ! mollify ! write out.tif"));
        run.assert_refused(says);
        infty.assert_no_output("out.tif");
        assert_eq!(std::fs::read(infty.path(&file)).unwrap(), bytes, "{name}: the input changed");
    }
    // A planar-separate RGB file, as tifffile writes it.
    let code = "import numpy, tifffile, sys; tifffile.imwrite(sys.argv[1], numpy.zeros((3, 20, 30), 'u1'), planarconfig='separate', photometric='rgb')";
    let made = std::process::Command::new(test_python())
        .args(["-c", code])
        .arg(infty.path("planar.tif"))
        .status()
        .unwrap();
    assert!(made.success());
    let run = infty.pipeline("read planar.tif ! mollify ! write out.tif");
    run.assert_refused("planar-separate TIFF (one plane per channel) is not supported");
    infty.assert_no_output("out.tif");
    // `--unlimited` raises the limits; a strip of 10^16 pixels is still refused.
    let run = infty.pipeline("read absurd.tif --unlimited ! mollify ! write out.tif");
    run.assert_refused("more than the 4096 MiB limit");
    infty.assert_no_output("out.tif");
}

#[test]
fn ctrl_c_keeps_a_tiled_output_resumable() {
    let infty = infty();
    let job = "read in.tif ! mollify --sigma 3 ! write out.tif";
    let child = start_and_wait(&infty, job, 10);
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted; `--resume` continues writing 'out.tif'"), "{stderr}");
    resume_and_compare(&infty, job);
}
