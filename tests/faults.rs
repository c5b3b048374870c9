//! Faults while running: concurrent runs, outputs that are not plain files, sizes that
//! overflow, signals, damaged journals and shards. Each test is named after the defect it
//! guards against.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::{Child, Command};

use image::ImageFormat;
use infty_e2e::images::Image;
use infty_e2e::{artifacts, Infty, Run};

const JOB: &str = "read in.tif ! mollify --sigma 3 ! write out.tif --compression zstd";

fn infty() -> Infty {
    let infty =
        Infty::with_plugins(&[artifacts().plugin("infty_mollifier"), artifacts().plugin("infty_basic")]);
    std::fs::write(infty.path("in.tif"), Image::pattern(3000, 2000, 3, "u8").encode_tiff()).unwrap();
    std::fs::write(infty.path("in.png"), Image::pattern(64, 48, 3, "u8").encode(ImageFormat::Png)).unwrap();
    infty
}

fn args(job: &str, resume: bool) -> Vec<&str> {
    let flags: &[&str] = if resume { &["run", "--resume"] } else { &["run"] };
    flags.iter().copied().chain(job.split_whitespace()).collect()
}

fn signal(child: &Child, name: &str) {
    assert!(Command::new("kill").args([name, &child.id().to_string()]).status().unwrap().success());
}

/// Stops `child` and waits until every one of its threads is stopped: `kill` returns
/// when the signal is queued, and a thread may still finish a write after that.
fn freeze(child: &Child) {
    signal(child, "-STOP");
    let tasks = format!("/proc/{}/task", child.id());
    let stopped = |entry: std::fs::DirEntry| {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // The state follows the command name in parentheses, which may hold spaces.
        stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('T'))
    };
    for _ in 0..1000 {
        if std::fs::read_dir(&tasks).unwrap().flatten().all(stopped) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("the first run did not stop within 5 s");
}

/// Starts `JOB` and waits until its journal records `tiles` finished tiles.
fn start_and_wait(infty: &Infty, tiles: usize) -> Child {
    infty.spawn_until_journaled(&args(JOB, false), "out.tif", tiles)
}

/// The finished output of `JOB` computed in one uninterrupted run, as `whole.tif`.
fn whole(infty: &Infty) -> Image {
    infty.pipeline(&JOB.replace("out.tif", "whole.tif")).assert_ok();
    Image::load(&infty.path("whole.tif"))
}

fn hidden_files(infty: &Infty) -> Vec<String> {
    let names = std::fs::read_dir(infty.dir.path()).unwrap().flatten();
    names.map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with('.')).collect()
}

#[test]
fn a_second_run_of_a_job_being_written_is_refused_not_interleaved() {
    let infty = infty();
    let expected = whole(&infty);
    let first = start_and_wait(&infty, 3);
    freeze(&first); // the first run holds its journal, frozen mid-write
    let journal = std::fs::read(infty.path(".out.tif.infty-journal")).unwrap();
    let part = std::fs::metadata(infty.path(".out.tif.infty-part")).unwrap();
    for resume in [true, false] {
        let second = infty.run(&args(JOB, resume));
        second.assert_refused("another infty run is writing 'out.tif' right now");
        assert!(second.stderr.contains("help: wait for it to finish"), "{}", second.stderr);
    }
    assert_eq!(std::fs::read(infty.path(".out.tif.infty-journal")).unwrap(), journal, "journal touched");
    let after = std::fs::metadata(infty.path(".out.tif.infty-part")).unwrap();
    assert_eq!((after.ino(), after.len()), (part.ino(), part.len()), "part file touched");
    signal(&first, "-CONT");
    let output = first.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(Image::load(&infty.path("out.tif")) == expected, "the first run's pixels differ");
}

/// A valid deflate-compressed gray TIFF of `side`² pixels in 16384² tiles that all
/// share one tiny compressed tile (never decoded by these tests).
fn huge_sparse_tiff(side: u32) -> Vec<u8> {
    let tiles = side.div_ceil(16384).pow(2) as usize;
    let data = [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]; // zlib of nothing
    let entries: [(u16, u16, u32); 9] = [
        (256, 4, side),
        (257, 4, side),
        (258, 3, 8),
        (259, 3, 8),
        (262, 3, 1),
        (322, 4, 16384),
        (323, 4, 16384),
        (324, 4, 0), // TileOffsets: filled below
        (325, 4, 0), // TileByteCounts
    ];
    let ifd_len = 2 + 12 * entries.len() + 4;
    let (data_at, offsets_at) = (8 + ifd_len, 8 + ifd_len + data.len());
    let counts_at = offsets_at + 4 * tiles;
    let mut out = b"II*\x00\x08\x00\x00\x00".to_vec();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        let (count, value) = match tag {
            324 => (tiles as u32, offsets_at as u32),
            325 => (tiles as u32, counts_at as u32),
            _ => (1, value),
        };
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes()); // SHORTs sit in the low bytes
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&data);
    out.extend(std::iter::repeat_n((data_at as u32).to_le_bytes(), tiles).flatten());
    out.extend(std::iter::repeat_n((data.len() as u32).to_le_bytes(), tiles).flatten());
    out
}

#[test]
fn tile_counts_of_2_to_the_32_are_refused_before_any_work() {
    let infty = infty();
    // 1048576² and 1048592² in 16 px tiles, 16777216² in the default 256 px tiles: 2^32
    // tiles or more each, which once wrapped to a few and gave a bogus file with exit 0.
    let cases = [
        (1 << 20, " --tile-size 16", "4294967296 tiles", 32),
        ((1 << 20) + 16, " --tile-size 16", "4295098369 tiles", 32),
        (1 << 24, "", "4294967296 tiles", 272),
    ];
    for (side, tile, tiles, fits) in cases {
        std::fs::write(infty.path("huge.tif"), huge_sparse_tiff(side)).unwrap();
        let run = infty.pipeline(&format!("read huge.tif ! write out.tif{tile}"));
        run.assert_refused(tiles);
        assert!(run.stderr.contains(&format!("give `write --tile-size {fits}` or larger")), "{}", run.stderr);
        infty.assert_no_output("out.tif");
        assert_eq!(hidden_files(&infty), Vec::<String>::new());
    }
}

/// Just under 2^32 tiles the count fits but the tile tables (65535² tiles, 137 GB) fit
/// no test machine's memory: refused before anything is allocated, not killed by the
/// kernel half-way.
#[test]
fn tile_tables_beyond_the_memory_available_are_refused_before_any_work() {
    let infty = infty();
    std::fs::write(infty.path("huge.tif"), huge_sparse_tiff((1 << 20) - 16)).unwrap();
    let run = infty.pipeline("read huge.tif ! write out.tif --tile-size 16");
    run.assert_refused("would need 4294836225 tiles, whose tables need");
    assert!(run.stderr.contains("of memory available"), "{}", run.stderr);
    assert!(run.stderr.contains("help: give `write --tile-size"), "{}", run.stderr);
    infty.assert_no_output("out.tif");
    assert_eq!(hidden_files(&infty), Vec::<String>::new());
}

#[test]
fn special_output_paths_are_written_in_place_never_replaced() {
    let infty = infty();
    let expected = Image::load(&infty.path("in.png"));
    // A named pipe: the image streams into it, and it stays a pipe.
    let fifo = infty.path("pipe.png");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || std::fs::read(fifo).unwrap()
    });
    infty.pipeline("read in.png ! write pipe.png").assert_ok();
    assert!(Image::decode(&reader.join().unwrap()) == expected, "pixels through the pipe differ");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "the pipe was replaced");
    // A character device, and standard output through its link.
    infty.pipeline("read in.png ! write /dev/null --format png").assert_ok();
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    let run = infty.pipeline("read in.png ! write /dev/stdout --format tiff");
    run.assert_ok();
    assert!(Image::decode(&run.stdout) == expected, "pixels on standard output differ");
    // A link to a regular file: the target gets the image, the link stays.
    std::fs::write(infty.path("target.png"), b"old").unwrap();
    std::os::unix::fs::symlink("target.png", infty.path("link.png")).unwrap();
    infty.pipeline("read in.png ! write link.png").assert_ok();
    assert!(std::fs::symlink_metadata(infty.path("link.png")).unwrap().file_type().is_symlink());
    assert!(Image::load(&infty.path("target.png")) == expected);
    // A folder, a dangling link: refused before any work.
    std::fs::create_dir(infty.path("folder.png")).unwrap();
    infty
        .pipeline("read in.png ! write folder.png")
        .assert_refused("cannot write 'folder.png': it is a folder");
    std::os::unix::fs::symlink("missing.png", infty.path("dangling.png")).unwrap();
    infty.pipeline("read in.png ! write dangling.png").assert_refused("a symbolic link to a missing file");
    assert_eq!(hidden_files(&infty), Vec::<String>::new());
}

#[test]
fn an_output_path_ending_in_a_slash_is_refused_before_any_work() {
    let infty = infty();
    let run = infty.pipeline("read in.tif ! mollify --sigma 3 ! write o.tif/");
    run.assert_refused("cannot write 'o.tif/': the path names a folder, not a file");
    assert_eq!(hidden_files(&infty), Vec::<String>::new(), "nothing may block the next run");
    infty.pipeline("read in.png ! write o.tif").assert_ok();
    let run = infty.pipeline("read in.png ! write missing-folder/o.tif");
    run.assert_refused("folder 'missing-folder' does not exist");
}

#[test]
fn crop_offsets_past_any_raster_are_refused_with_exit_2_and_leave_no_journal() {
    let infty = infty();
    let job = "read in.png ! crop --x 9223372036854775807 --width 5 --height 5 ! write out.tif";
    for resume in [false, true] {
        let run = infty.run(&args(job, resume));
        run.assert_refused("param 'x': must be <= 4294967295, got 9223372036854775807");
        assert_eq!(hidden_files(&infty), Vec::<String>::new());
    }
    let run = infty.pipeline("read in.png ! crop --x 4294967295 --width 5 --height 5 ! write out.tif");
    run.assert_refused("the 5x5 window at (4294967295, 0) extends past the 64x48 image");
}

#[test]
fn sigterm_stops_a_run_like_ctrl_c_with_exit_143() {
    let infty = infty();
    let expected = whole(&infty);
    let child = start_and_wait(&infty, 3);
    signal(&child, "-TERM");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("infty: terminated (SIGTERM); `--resume` continues writing 'out.tif'"),
        "{stderr}"
    );
    infty.run(&args(JOB, true)).assert_ok();
    assert!(Image::load(&infty.path("out.tif")) == expected, "resumed pixels differ");
}

#[test]
fn resume_after_a_completed_run_does_not_recompute() {
    let infty = infty();
    infty.run(&args(JOB, false)).assert_ok();
    let before = std::fs::metadata(infty.path("out.tif")).unwrap();
    let run = infty.run(&args(JOB, true));
    run.assert_ok();
    assert!(run.stderr.contains("'out.tif' is already complete; nothing to resume"), "{}", run.stderr);
    let after = std::fs::metadata(infty.path("out.tif")).unwrap();
    assert_eq!((after.ino(), after.mtime_nsec()), (before.ino(), before.mtime_nsec()), "rewritten");
    assert_eq!(hidden_files(&infty), Vec::<String>::new());
    // Another input is another job: computed again.
    std::fs::write(infty.path("in.tif"), Image::pattern(300, 200, 3, "u8").encode_tiff()).unwrap();
    let run = infty.run(&args(JOB, true));
    run.assert_ok();
    assert!(run.stderr.contains("nothing to resume for 'out.tif'; starting from the beginning"));
    assert_eq!(Image::load(&infty.path("out.tif")).width, 300);
}

#[test]
fn damaged_tiles_of_an_unfinished_output_are_recomputed_on_resume() {
    let infty = infty();
    let expected = whole(&infty);
    let mut child = start_and_wait(&infty, 6);
    child.kill().unwrap();
    child.wait().unwrap();
    // Flip a byte inside the first two finished tiles.
    let journal = std::fs::read_to_string(infty.path(".out.tif.infty-journal")).unwrap();
    let part = infty.path(".out.tif.infty-part");
    let mut bytes = std::fs::read(&part).unwrap();
    for line in journal.lines().skip(1).take(2) {
        let words: Vec<u64> = line.split_whitespace().take(3).map(|w| w.parse().unwrap()).collect();
        bytes[(words[1] + words[2] / 2) as usize] ^= 0x5a;
    }
    std::fs::write(&part, bytes).unwrap();
    let run = infty.run(&args(JOB, true));
    run.assert_ok();
    assert!(run.stderr.contains("2 finished tile(s) of"), "{}", run.stderr);
    assert!(Image::load(&infty.path("out.tif")) == expected, "resumed pixels differ");
}

#[test]
fn a_damaged_shard_tile_is_refused_by_merge() {
    let infty = infty();
    for shard in ["1/2", "2/2"] {
        let run: Run = infty
            .run(&[&["run", "--shard", shard][..], &JOB.split_whitespace().collect::<Vec<_>>()].concat());
        run.assert_ok();
    }
    // Tile data starts right after the 8-byte header.
    let shard = infty.path("out.shard-1-of-2.tif");
    let mut bytes = std::fs::read(&shard).unwrap();
    bytes[8 + 20] ^= 0x01;
    std::fs::write(&shard, bytes).unwrap();
    let run = infty.run(&["merge", "out.tif"]);
    run.assert_refused("out.shard-1-of-2.tif' is damaged: its bytes do not match the checksum");
    infty.assert_no_output("out.tif");
    assert_eq!(hidden_files(&infty), Vec::<String>::new());
}
