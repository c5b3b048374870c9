//! Malformed and hostile image files: every sample format a TIFF can claim, decode
//! limits on PNG, JPEG and standard input, truncated files. Each test is named after the
//! defect it guards against.

use std::process::{Command, Stdio};

use image::ImageFormat;
use infty_e2e::images::{Image, Samples};
use infty_e2e::{artifacts, Infty, Run};

fn infty() -> Infty {
    Infty::with_plugins(&[artifacts().plugin("infty_basic")])
}

/// Asserts a refusal: exit 2, `says` in stderr, no panic, every line short, no output.
fn assert_refused(infty: &Infty, run: &Run, says: &str) {
    assert_eq!(run.code, 2, "exit code; stderr:\n{}", &run.stderr[..run.stderr.len().min(2000)]);
    assert!(run.stderr.contains(says), "expected {says:?} in stderr:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "a panic reached the user:\n{}", run.stderr);
    let longest = run.stderr.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 300, "a line of {longest} chars in stderr:\n{}", &run.stderr[..2000]);
    infty.assert_no_output("out.tif");
    infty.assert_no_output("out.png");
}

/// One TIFF directory entry: tag, type (3 short, 4 long) and its values.
type Entry = (u16, u16, Vec<u32>);

/// A little-endian classic TIFF of one directory with `entries`, whose values are
/// stored inline or after the directory; tags 273 (StripOffsets) and 324 (TileOffsets)
/// with the value 0 point at `data`, which comes last.
fn tiff_bytes(entries: &[Entry], data: &[u8]) -> Vec<u8> {
    let mut entries = entries.to_vec();
    entries.sort_by_key(|e| e.0);
    let value_bytes = |kind: u16, values: &[u32]| -> Vec<u8> {
        values
            .iter()
            .flat_map(
                |&v| if kind == 3 { (v as u16).to_le_bytes().to_vec() } else { v.to_le_bytes().to_vec() },
            )
            .collect()
    };
    let ifd_end = 8 + 2 + 12 * entries.len() + 4;
    let extra: usize =
        entries.iter().map(|(_, k, v)| value_bytes(*k, v).len()).filter(|&n| n > 4).map(|n| n + n % 2).sum();
    let data_offset = (ifd_end + extra) as u32;
    let mut ifd = (entries.len() as u16).to_le_bytes().to_vec();
    let mut out_of_line = Vec::new();
    for (tag, kind, values) in &entries {
        let values: Vec<u32> =
            if (*tag == 273 || *tag == 324) && values == &[0] { vec![data_offset] } else { values.clone() };
        let mut bytes = value_bytes(*kind, &values);
        ifd.extend_from_slice(&tag.to_le_bytes());
        ifd.extend_from_slice(&kind.to_le_bytes());
        ifd.extend_from_slice(&(values.len() as u32).to_le_bytes());
        if bytes.len() <= 4 {
            bytes.resize(4, 0);
            ifd.extend_from_slice(&bytes);
        } else {
            ifd.extend_from_slice(&((ifd_end + out_of_line.len()) as u32).to_le_bytes());
            out_of_line.extend_from_slice(&bytes);
            if out_of_line.len() % 2 == 1 {
                out_of_line.push(0);
            }
        }
    }
    ifd.extend_from_slice(&0u32.to_le_bytes());
    let mut out = b"II*\x00\x08\x00\x00\x00".to_vec();
    out.extend_from_slice(&ifd);
    out.extend_from_slice(&out_of_line);
    out.extend_from_slice(data);
    out
}

/// An uncompressed gray `width`×16 TIFF of `bits`-bit samples of SampleFormat `format`,
/// one strip (or, `tiled`, one 16×16 tile), holding `data`.
fn gray_tiff(bits: u32, format: u32, tiled: bool, data: &[u8]) -> Vec<u8> {
    let mut entries: Vec<Entry> = vec![
        (256, 4, vec![16]),
        (257, 4, vec![16]),
        (258, 3, vec![bits]),
        (259, 3, vec![1]),
        (262, 3, vec![1]),
        (277, 3, vec![1]),
        (339, 3, vec![format]),
    ];
    if tiled {
        entries.extend([
            (322, 3, vec![16]),
            (323, 3, vec![16]),
            (324, 4, vec![0]),
            (325, 4, vec![data.len() as u32]),
        ]);
    } else {
        entries.extend([(273, 4, vec![0]), (278, 4, vec![16]), (279, 4, vec![data.len() as u32])]);
    }
    tiff_bytes(&entries, data)
}

fn f32_values(path: &std::path::Path) -> Vec<f32> {
    match Image::load(path).samples {
        Samples::F32(v) => v,
        other => panic!("expected f32 samples, got {other:?}"),
    }
}

#[test]
fn signed_integer_tiffs_are_read_not_panicked_on() {
    let infty = infty();
    // i8 and i16 ramps with their extremes: normalised like GPU SNORM, v/MAX, at least -1.
    let i8s: Vec<i8> = (0..256).map(|i| (i as u8) as i8).collect();
    let i8_bytes: Vec<u8> = i8s.iter().map(|&v| v as u8).collect();
    let i16s: Vec<i16> = (0..256).map(|i| if i == 0 { i16::MIN } else { (i * 257 - 32768) as i16 }).collect();
    let i16_bytes: Vec<u8> = i16s.iter().flat_map(|v| v.to_le_bytes()).collect();
    let expect_i8: Vec<f32> = i8s.iter().map(|&v| (f32::from(v) / 127.0).max(-1.0)).collect();
    let expect_i16: Vec<f32> = i16s.iter().map(|&v| (f32::from(v) / 32767.0).max(-1.0)).collect();
    for (name, bits, data, expect) in [("i8", 8, &i8_bytes, &expect_i8), ("i16", 16, &i16_bytes, &expect_i16)]
    {
        for tiled in [false, true] {
            let file = format!("{name}-{tiled}.tif");
            let bytes = gray_tiff(bits, 2, tiled, data);
            std::fs::write(infty.path(&file), &bytes).unwrap();
            // Streamed from the file; a tiled file written with matching tiles must be
            // decoded, not copied as stored.
            let run =
                infty.pipeline(&format!("read {file} ! write out.tif --tile-size 16 --compression none"));
            run.assert_ok();
            assert_eq!(&f32_values(&infty.path("out.tif")), expect, "{file} from the file");
            std::fs::remove_file(infty.path("out.tif")).unwrap();
            // Decoded whole from standard input.
            let run = infty.run_with_stdin(&["run", "read - ! write out.tif"], &bytes);
            run.assert_ok();
            assert_eq!(&f32_values(&infty.path("out.tif")), expect, "{file} from standard input");
            std::fs::remove_file(infty.path("out.tif")).unwrap();
        }
    }
    // Every other sample format is refused at open, for files and standard input.
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("u32", gray_tiff(32, 1, false, &[1; 1024]), "32-bit integer samples (unsigned)"),
        ("i32", gray_tiff(32, 2, false, &[1; 1024]), "32-bit integer samples (signed)"),
        ("f64", gray_tiff(64, 3, false, &[0; 2048]), "64-bit float samples"),
        ("i64", gray_tiff(64, 2, false, &[0; 2048]), "64-bit integer samples (signed)"),
        ("f16", gray_tiff(16, 3, false, &[0; 512]), "16-bit float samples"),
        ("u1", gray_tiff(1, 1, false, &[0; 32]), "1-bit integer samples (unsigned)"),
        ("u2", gray_tiff(2, 1, false, &[0; 64]), "2-bit integer samples (unsigned)"),
        ("u4", gray_tiff(4, 1, false, &[0; 128]), "4-bit integer samples (unsigned)"),
        ("u12", gray_tiff(12, 1, false, &[0; 384]), "12-bit integer samples (unsigned)"),
        ("void", gray_tiff(8, 4, false, &[0; 256]), "8-bit samples of SampleFormat 4 (undefined)"),
        ("unknown", gray_tiff(8, 9, false, &[0; 256]), "unknown SampleFormat 9"),
    ];
    for (name, bytes, says) in cases {
        let file = format!("{name}.tif");
        std::fs::write(infty.path(&file), &bytes).unwrap();
        let run = infty.pipeline(&format!("read {file} ! write out.tif"));
        assert_refused(&infty, &run, says);
        assert!(run.stderr.contains("supported:"), "{name}: {}", run.stderr);
        let run = infty.run_with_stdin(&["run", "read - ! write out.tif"], &bytes);
        assert_refused(&infty, &run, says);
    }
    // Nothing of a refused run makes the next one claim an unfinished run.
    std::fs::write(infty.path("good.tif"), gray_tiff(8, 1, false, &[7; 256])).unwrap();
    let run = infty.pipeline("read good.tif ! write out.tif");
    run.assert_ok();
    assert!(!run.stderr.contains("unfinished"), "{}", run.stderr);
}

/// A PNG of `width`×`height` gray u8 pixels whose image data is a few zero rows: the
/// header is what matters.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // A zlib stream of one stored block of zeros (no adler check needed: it is cut).
    let zeros = 1000u16;
    let mut idat = vec![0x78, 0x01, 0x01];
    idat.extend_from_slice(&zeros.to_le_bytes());
    idat.extend_from_slice(&(!zeros).to_le_bytes());
    idat.extend(std::iter::repeat_n(0, zeros as usize));
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn png_jpeg_and_standard_input_have_decode_limits() {
    let infty = infty();
    // 60000² gray pixels would be 13 GiB of f32 samples: refused from the header.
    std::fs::write(infty.path("huge.png"), png_claiming(60_000, 60_000)).unwrap();
    let started = std::time::Instant::now();
    let run = infty.pipeline("read huge.png ! crop --width 64 --height 64 ! write out.png");
    assert_refused(&infty, &run, "'huge.png' claims 60000x60000 pixels");
    assert!(run.stderr.contains("--unlimited"), "{}", run.stderr);
    let run = infty.run_with_stdin(&["run", "read - ! write out.png"], &png_claiming(60_000, 60_000));
    assert_refused(&infty, &run, "standard input claims 60000x60000 pixels");
    assert!(started.elapsed().as_secs() < 5, "refusing took {:?}", started.elapsed());
    // A side past 2^24 is refused even when the pixels would fit.
    std::fs::write(infty.path("wide.png"), png_claiming(1 << 25, 1)).unwrap();
    let run = infty.pipeline("read wide.png ! write out.png");
    assert_refused(&infty, &run, "more than 16777216 per side");
    // Standard input that is no image is refused from its first bytes, not read to the end.
    let mut child = Command::new(artifacts().infty())
        .args(["run", "read", "-", "!", "write", "out.png"])
        .current_dir(infty.path(""))
        .env_remove("INFTY_PLUGIN_PATH")
        .env("INFTY_CACHE_DIR", infty.path("cache"))
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed().as_secs() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
        panic!("`read -` kept reading /dev/zero for 20 s");
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("standard input is not a PNG, JPEG or TIFF image"), "{stderr}");
    // Images within the limits are read, with and without --unlimited.
    std::fs::write(infty.path("in.png"), Image::pattern(40, 30, 3, "u8").encode(ImageFormat::Png)).unwrap();
    infty.pipeline("read in.png --unlimited ! write out.png").assert_ok();
}

#[test]
fn a_tiff_claiming_65535_samples_per_pixel_gets_a_short_error() {
    let infty = infty();
    // BitsPerSample lists 65535 values, one differing: the decoder's error lists them all.
    let mut bits = vec![8; 65535];
    bits[65534] = 16;
    let entries: Vec<Entry> = vec![
        (256, 4, vec![16]),
        (257, 4, vec![16]),
        (258, 3, bits),
        (259, 3, vec![1]),
        (262, 3, vec![1]),
        (273, 4, vec![0]),
        (277, 3, vec![65535]),
        (278, 4, vec![16]),
        (279, 4, vec![256]),
    ];
    let bytes = tiff_bytes(&entries, &[0; 256]);
    std::fs::write(infty.path("many.tif"), &bytes).unwrap();
    let run = infty.pipeline("read many.tif ! write out.tif");
    assert_refused(&infty, &run, "'many.tif'");
    assert!(run.stderr.len() < 600, "stderr of {} bytes:\n{}", run.stderr.len(), &run.stderr[..600]);
    let run = infty.run_with_stdin(&["run", "read - ! write out.tif"], &bytes);
    assert_refused(&infty, &run, "standard input");
    assert!(run.stderr.len() < 600, "stderr of {} bytes", run.stderr.len());
    // The same count with one BitsPerSample value.
    let entries: Vec<Entry> =
        entries.into_iter().map(|e| if e.0 == 258 { (258, 3, vec![8]) } else { e }).collect();
    std::fs::write(infty.path("many1.tif"), tiff_bytes(&entries, &[0; 256])).unwrap();
    let run = infty.pipeline("read many1.tif ! write out.tif");
    assert_refused(&infty, &run, "'many1.tif'");
    assert!(run.stderr.len() < 600, "stderr of {} bytes", run.stderr.len());
}

#[test]
fn truncated_tiffs_are_reported_as_truncated() {
    let infty = infty();
    // A deflate-compressed TIFF cut inside its strip data, its tables patched to fit.
    let image = Image::pattern(64, 64, 1, "u8");
    let whole = image.encode_tiff();
    std::fs::write(infty.path("whole.tif"), &whole).unwrap();
    infty.pipeline("read whole.tif ! write out.tif").assert_ok();
    std::fs::remove_file(infty.path("out.tif")).unwrap();
    let cut = &whole[..whole.len() / 2];
    std::fs::write(infty.path("cut.tif"), cut).unwrap();
    let run = infty.pipeline("read cut.tif ! write out.tif");
    assert_refused(&infty, &run, "'cut.tif'");
    assert!(run.stderr.contains("truncated"), "{}", run.stderr);
    assert!(!run.stderr.contains("failed to fill whole buffer"), "{}", run.stderr);
    let run = infty.run_with_stdin(&["run", "read - ! write out.tif"], cut);
    assert_refused(&infty, &run, "standard input");
    assert!(run.stderr.contains("truncated"), "{}", run.stderr);
    assert!(!run.stderr.contains("failed to fill whole buffer"), "{}", run.stderr);
}

#[test]
fn truncated_jpegs_are_refused_not_filled_with_gray() {
    let infty = infty();
    let jpeg = Image::pattern(64, 64, 3, "u8").encode(ImageFormat::Jpeg);
    std::fs::write(infty.path("whole.jpg"), &jpeg).unwrap();
    infty.pipeline("read whole.jpg ! write out.png").assert_ok();
    std::fs::remove_file(infty.path("out.png")).unwrap();
    // Trailing bytes after the end marker are tolerated, as by libjpeg.
    let mut padded = jpeg.clone();
    padded.extend_from_slice(&[0; 100]);
    std::fs::write(infty.path("padded.jpg"), &padded).unwrap();
    infty.pipeline("read padded.jpg ! write out.png").assert_ok();
    std::fs::remove_file(infty.path("out.png")).unwrap();
    let cut = &jpeg[..jpeg.len() * 2 / 3];
    std::fs::write(infty.path("cut.jpg"), cut).unwrap();
    let run = infty.pipeline("read cut.jpg ! write out.png");
    assert_refused(&infty, &run, "'cut.jpg'");
    assert!(run.stderr.contains("ends before its image data is complete"), "{}", run.stderr);
    let run = infty.run_with_stdin(&["run", "read - ! write out.png"], cut);
    assert_refused(&infty, &run, "ends before its image data is complete");
}
