//! Whether a model file fits its own config and this machine, checked from the header
//! alone, before any weight is allocated or read: a config of absurd sizes, a config
//! the weights do not match, tensors no network has, and a model bigger than the
//! memory available are each refused with what is wrong.

use infty_sdk::PluginError;

use crate::checkpoint::{describe_misfit, Header};
use crate::config::NetConfig;
use crate::latent::LatentConfig;
use crate::shapes::{self, Shapes};

/// Config fields that fix one dimension of one weight: (field, weight, dimension).
const NET_PROBES: [(&str, &str, usize); 8] = [
    ("nf", "decoder.linear_out.weight", 1),
    ("channels", "decoder.linear_out.weight", 0),
    ("guide_channels", "decoder.linear_in.weight", 1),
    ("time_emb_dim", "decoder.time_mlp.1.weight", 0),
    ("uno_base_channels", "decoder.uno_linear_in.weight", 0),
    ("kernel_size", "decoder.normalising_conv.kernel", 0),
    ("uno_res", "decoder.uno_coords", 1),
    ("z_dim", "encoder.linear_out.weight", 0),
];
const NET_COUNTS: &str = "num_conv_blocks, uno_mults, uno_blocks_per_level and uno_attn_resolutions";

const LATENT_PROBES: [(&str, &str, usize); 3] = [
    ("channels", "latent.out_layer.weight", 0),
    ("hid_channels", "latent.in_layer.linear.weight", 0),
    ("time_emb_channels", "latent.time_embed.0.weight", 1),
];

/// Checks a network checkpoint against `cfg` and memory (`train`: the optimiser's
/// moments and EMA too).
pub fn check_net(header: &Header, cfg: &NetConfig, train: bool) -> Result<(), PluginError> {
    let network = (shapes::net(cfg), "decoder.", &NET_PROBES[..], NET_COUNTS);
    check(header, cfg.validate(), network, train)
}

/// Checks a latent-prior checkpoint against `cfg` and memory.
pub fn check_latent(header: &Header, cfg: &LatentConfig, train: bool) -> Result<(), PluginError> {
    let network = (shapes::latent(cfg), "latent.", &LATENT_PROBES[..], "num_layers");
    check(header, cfg.validate(), network, train)
}

/// The config's own check (`valid`), then the tensors against the network it implies
/// (its weights, the prefix its EMA stands for, the probes and the count fields), then
/// memory.
fn check(
    header: &Header,
    valid: Result<(), String>,
    (expected, ema_of, probes, counts): (Shapes, &str, &[(&str, &str, usize)], &str),
    train: bool,
) -> Result<(), PluginError> {
    let in_file = |why: String| PluginError::invalid_input(format!("{}: {why}", header.path().display()));
    valid.map_err(|e| in_file(format!("its config: {e}")))?;
    check_tensors(header, &expected, ema_of, probes, counts)?;
    let weights = shapes::bytes(&expected) * if train { 4 } else { 1 };
    check_memory(header.data_bytes() + weights, &format!("loading {}", header.path().display()))
}

/// The weight a checkpoint tensor holds or trains: `ema.X` is the EMA of `{ema_of}X`,
/// `optim.m.X` and `optim.v.X` the moments of `X`.
fn weight_of(name: &str, ema_of: &str) -> String {
    match (name.strip_prefix("ema."), name.strip_prefix("optim.m.").or(name.strip_prefix("optim.v."))) {
        (Some(rest), _) => format!("{ema_of}{rest}"),
        (_, Some(weight)) => weight.to_string(),
        _ => name.to_string(),
    }
}

/// Every tensor in the file is a weight of the config's network with its shape, and
/// every weight is in the file (raw or as its EMA). A mismatch is blamed on the config
/// field that fixes the weight's size, where one does.
fn check_tensors(
    header: &Header,
    expected: &Shapes,
    ema_of: &str,
    probes: &[(&str, &str, usize)],
    counts: &str,
) -> Result<(), PluginError> {
    let in_file = |why: String| {
        PluginError::invalid_input(format!("{}: {why}", header.path().display())).with_help(
            "the weights and the config in the file do not belong together; use an intact checkpoint",
        )
    };
    let found = |weight: &str| {
        header.tensors.get(weight).or_else(|| {
            let ema = format!("ema.{}", weight.strip_prefix(ema_of)?);
            header.tensors.get(&ema)
        })
    };
    for &(field, weight, dim) in probes {
        let (Some(want), Some((have, _))) = (expected.get(weight), found(weight)) else { continue };
        if want.get(dim) != have.get(dim) {
            return Err(in_file(format!(
                "its config says {field} makes {weight} {want:?}, but the file's is {have:?}: \
                 the config's {field} is wrong"
            )));
        }
    }
    let unexpected: Vec<String> = header
        .tensors
        .keys()
        .filter(|name| !expected.contains_key(&weight_of(name, ema_of)))
        .cloned()
        .collect();
    let misshaped = header.tensors.iter().filter_map(|(name, (shape, _))| {
        let want = expected.get(&weight_of(name, ema_of))?;
        (want != shape).then(|| format!("{name} is {shape:?}, the network needs {want:?}"))
    });
    let missing: Vec<String> = expected.keys().filter(|w| found(w).is_none()).cloned().collect();
    let hint = if missing.is_empty() { String::new() } else { format!(" (or its {counts} are wrong)") };
    describe_misfit(&missing, &unexpected, misshaped.collect()).map_err(|problems| {
        in_file(format!("the checkpoint does not fit the network its config describes{hint}: {problems}"))
    })
}

/// Refuses `bytes` (of weights and file data) when more than the memory available now.
pub fn check_memory(bytes: u64, what: &str) -> Result<(), PluginError> {
    match infty_kit::memory::available_bytes() {
        Some(free) => within(bytes, free, what),
        None => Ok(()),
    }
}

fn within(bytes: u64, free: u64, what: &str) -> Result<(), PluginError> {
    if bytes <= free {
        return Ok(());
    }
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    Err(PluginError::invalid_input(format!(
        "{what} needs {:.2} GiB of memory for its weights, but {:.2} GiB is available",
        gib(bytes),
        gib(free)
    ))
    .with_help("free memory, or use a smaller model"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_beyond_what_is_available_is_refused() {
        assert!(within(1 << 30, 2 << 30, "loading m").is_ok());
        let err = within(5 << 30, 2 << 30, "loading m").unwrap_err();
        assert!(err.message.contains("needs 5.00 GiB") && err.message.contains("2.00 GiB is available"));
    }

    #[test]
    fn ema_and_moments_name_the_weight_they_belong_to() {
        assert_eq!(weight_of("ema.linear_in.weight", "decoder."), "decoder.linear_in.weight");
        assert_eq!(weight_of("optim.v.encoder.linear_in.bias", "decoder."), "encoder.linear_in.bias");
        assert_eq!(weight_of("encoder.x", "decoder."), "encoder.x");
    }
}
