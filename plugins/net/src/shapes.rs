//! The names and shapes of every weight a config implies, computed without building
//! the network, so a checkpoint is checked against its config, and a config against
//! memory, before anything is allocated. They mirror `unet`, `uno`, `block` and
//! `latent::mlp`; `shapes_match_the_built_networks` keeps them in step.

use std::collections::BTreeMap;

use crate::config::NetConfig;
use crate::latent::LatentConfig;

/// Weight shapes by full name (`decoder.linear_in.weight`).
pub type Shapes = BTreeMap<String, Vec<i64>>;

fn linear(s: &mut Shapes, p: &str, inputs: i64, outputs: i64) {
    s.insert(format!("{p}.weight"), vec![outputs, inputs]);
    s.insert(format!("{p}.bias"), vec![outputs]);
}

fn layer_norm(s: &mut Shapes, p: &str, c: i64) {
    s.insert(format!("{p}.weight"), vec![c]);
    s.insert(format!("{p}.bias"), vec![c]);
}

fn channel_norm(s: &mut Shapes, p: &str, c: i64) {
    s.insert(format!("{p}.weight"), vec![1, c, 1, 1]);
    s.insert(format!("{p}.bias"), vec![1, c, 1, 1]);
}

fn conv(s: &mut Shapes, p: &str, inputs: i64, outputs: i64, k: i64) {
    s.insert(format!("{p}.weight"), vec![outputs, inputs, k, k]);
    s.insert(format!("{p}.bias"), vec![outputs]);
}

/// `block::SparseResBlock`.
fn sparse_block(s: &mut Shapes, p: &str, c: i64, k: i64, temb: i64, z: Option<i64>, skip: bool) {
    s.insert(format!("{p}.conv.kernel"), vec![k * k, 1, c]);
    if skip {
        linear(s, &format!("{p}.skip_linear"), 2 * c, c);
    }
    for i in 1..=2 {
        layer_norm(s, &format!("{p}.norm{i}"), c);
        linear(s, &format!("{p}.time_mlp{i}.1"), temb, 2 * c);
        if let Some(z) = z {
            linear(s, &format!("{p}.z_mlp{i}.0"), z, c);
            linear(s, &format!("{p}.z_mlp{i}.2"), c, c);
        }
    }
    linear(s, &format!("{p}.mlp.0"), c, 2 * c);
    linear(s, &format!("{p}.mlp.2"), 2 * c, c);
}

/// `uno::ConvBlock`.
fn conv_block(s: &mut Shapes, p: &str, nin: i64, nout: i64, temb: i64, z: Option<i64>) {
    channel_norm(s, &format!("{p}.in_layers.0"), nin);
    conv(s, &format!("{p}.in_layers.2"), nin, nout, 3);
    channel_norm(s, &format!("{p}.norm"), nout);
    linear(s, &format!("{p}.time.1"), temb, 2 * nout);
    if let Some(z) = z {
        linear(s, &format!("{p}.z_mlp.0"), z, nout);
        linear(s, &format!("{p}.z_mlp.2"), nout, nout);
    }
    conv(s, &format!("{p}.out_layers.2"), nout, nout, 3);
    if nin != nout {
        conv(s, &format!("{p}.res_conv"), nin, nout, 1);
    }
}

/// `uno::Attention`.
fn attention(s: &mut Shapes, p: &str, dim: i64) {
    let inner = (dim / 32).max(4) * 32;
    layer_norm(s, &format!("{p}.norm"), dim);
    linear(s, &format!("{p}.qkv"), dim, inner * 3);
    linear(s, &format!("{p}.attn_linear"), inner, dim);
}

/// `uno::Uno`.
fn uno(s: &mut Shapes, p: &str, cfg: &NetConfig, temb: i64, z: Option<i64>, nout: i64, encoder: bool) {
    let width = cfg.uno_base_channels;
    let dims: Vec<i64> = std::iter::once(width).chain(cfg.uno_mults.iter().map(|m| width * m)).collect();
    let levels = cfg.uno_mults.len();
    let pairs = |s: &mut Shapes, p: &str, count: i64, nin: i64, nout: i64, res: i64| {
        for j in 0..count {
            conv_block(s, &format!("{p}.{j}.0"), nin, nout, temb, z);
            if cfg.uno_attn_resolutions.contains(&res) {
                attention(s, &format!("{p}.{j}.1"), nout);
            }
        }
    };
    conv(s, &format!("{p}.fc0"), width, width, 1);
    let mut res = cfg.uno_res;
    for i in 0..levels {
        let (din, dout, last) = (dims[i], dims[i + 1], i == levels - 1);
        pairs(s, &format!("{p}.downs.{i}.0"), cfg.uno_blocks_per_level[i], din, din, res);
        conv(s, &format!("{p}.downs.{i}.1"), din, dout, 3);
        res = if last { res } else { res / 2 };
    }
    let d = dims[levels];
    conv_block(s, &format!("{p}.mid_block1"), d, d, temb, z);
    attention(s, &format!("{p}.mid_attn"), d);
    conv_block(s, &format!("{p}.mid_block2"), d, d, temb, z);
    if encoder {
        conv(s, &format!("{p}.fc1"), d, nout, 1);
        return;
    }
    for (ind, i) in (0..levels).rev().enumerate() {
        let (din, dout, last) = (dims[i], dims[i + 1], ind == levels - 1);
        pairs(s, &format!("{p}.ups.{ind}.0"), cfg.uno_blocks_per_level[i], dout + din, dout, res);
        if last {
            conv(s, &format!("{p}.ups.{ind}.1"), dout, din, 3);
        } else {
            // A transposed convolution's weight is (in, out, 4, 4).
            s.insert(format!("{p}.ups.{ind}.1.weight"), vec![dout, din, 4, 4]);
            s.insert(format!("{p}.ups.{ind}.1.bias"), vec![din]);
        }
        res = if last { res } else { res * 2 };
    }
    conv(s, &format!("{p}.fc1"), width, 128, 1);
    conv(s, &format!("{p}.fc2"), 128, nout, 1);
}

/// Every weight of `Net` (decoder and encoder) for a validated `cfg`.
pub fn net(cfg: &NetConfig) -> Shapes {
    let mut s = Shapes::new();
    let (nf, td, cb, k, z) = (cfg.nf, cfg.time_emb_dim, cfg.uno_base_channels, cfg.kernel_size, cfg.z_dim);
    for p in ["decoder", "encoder"] {
        s.insert(format!("{p}.uno_coords"), vec![1, cfg.uno_res * cfg.uno_res, 2]);
        s.insert(format!("{p}.normalising_conv.kernel"), vec![k * k, 1, 1]);
        linear(&mut s, &format!("{p}.uno_linear_in"), nf, cb);
    }
    linear(&mut s, "decoder.linear_in", cfg.channels + cfg.guide_channels, nf);
    linear(&mut s, "decoder.linear_out", nf, cfg.channels);
    linear(&mut s, "decoder.time_mlp.1", td, td);
    linear(&mut s, "decoder.time_mlp.3", td, td);
    linear(&mut s, "decoder.uno_linear_out", cb, nf);
    for i in 0..cfg.num_conv_blocks {
        sparse_block(&mut s, &format!("decoder.down_blocks.{i}.block"), nf, k, td, Some(z), false);
        sparse_block(&mut s, &format!("decoder.up_blocks.{i}.block"), nf, k, td, Some(z), true);
        sparse_block(&mut s, &format!("encoder.down_blocks.{i}.block"), nf, k, nf, None, false);
    }
    uno(&mut s, "decoder.uno", cfg, td, Some(z), cb, false);
    linear(&mut s, "encoder.linear_in", cfg.channels, nf);
    uno(&mut s, "encoder.uno", cfg, nf, None, z, true);
    linear(&mut s, "encoder.linear_out", z, z);
    s
}

/// Every weight of the latent prior (`latent.*`) for a validated `cfg`.
pub fn latent(cfg: &LatentConfig) -> Shapes {
    let mut s = Shapes::new();
    let (c, hid) = (cfg.channels, cfg.hid_channels);
    linear(&mut s, "latent.time_embed.0", cfg.time_emb_channels, c);
    linear(&mut s, "latent.time_embed.2", c, c);
    let mut layer = |p: String, inputs: i64| {
        linear(&mut s, &format!("{p}.linear"), inputs, hid);
        linear(&mut s, &format!("{p}.cond_layers.1"), c, hid);
        layer_norm(&mut s, &format!("{p}.norm"), hid);
    };
    layer("latent.in_layer".into(), c);
    for i in 0..cfg.num_layers - 2 {
        layer(format!("latent.layers.{i}"), hid + c);
    }
    linear(&mut s, "latent.out_layer", hid + c, c);
    s
}

/// Bytes of float32 weights of these shapes.
pub fn bytes(shapes: &Shapes) -> u64 {
    shapes.values().map(|shape| shape.iter().product::<i64>().max(0) as u64 * 4).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn built(vs: &tch::nn::VarStore) -> Shapes {
        vs.variables().into_iter().map(|(name, t)| (name, t.size())).collect()
    }

    #[test]
    fn shapes_match_the_built_networks() {
        let tiny = NetConfig::preset("tiny").unwrap();
        let guided = NetConfig { guide_channels: 3, uno_attn_resolutions: vec![16, 8], ..tiny.clone() };
        for cfg in [tiny, guided] {
            let built = built(&crate::Net::new(&cfg, Device::Cpu, 0).unwrap().vs);
            assert_eq!(net(&cfg), built);
        }
        let cfg = LatentConfig { hid_channels: 64, ..LatentConfig::reference(16, 4) };
        let prior = crate::latent::LatentNet::new(&cfg, Device::Cpu, 0).unwrap();
        assert_eq!(latent(&cfg), built(&prior.vs));
    }
}
