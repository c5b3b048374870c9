//! `loss.png`: training loss (a running mean) and held-out loss against steps, on a
//! log scale, with the loss of predicting zero for reference.

use std::path::Path;
use std::sync::Once;

use infty_sdk::PluginError;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

const SIZE: (u32, u32) = (960, 540);

/// The running mean of `values` over `window` entries.
fn running_mean(values: &[(u64, f64)], window: usize) -> Vec<(u64, f64)> {
    let mut sum = 0.0;
    values
        .iter()
        .enumerate()
        .map(|(i, &(step, v))| {
            sum += v;
            if i >= window {
                sum -= values[i - window].1;
            }
            (step, sum / (i + 1).min(window) as f64)
        })
        .collect()
}

/// One held-out evaluation, as plotted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValPoint {
    pub step: u64,
    pub mean: f64,
    pub zero: f64,
}

/// Draws the plot into `path` (written beside it, then renamed).
pub fn loss_plot(path: &Path, train: &[(u64, f64)], val: &[ValPoint]) -> Result<(), PluginError> {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
    let mut pixels = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    draw(&mut pixels, train, val)
        .map_err(|e| PluginError::failed(format!("cannot draw the loss plot: {e}")))?;
    let image = image::RgbImage::from_raw(SIZE.0, SIZE.1, pixels).expect("the buffer has the plot's size");
    let part = path.with_extension("png.part");
    image
        .save_with_format(&part, image::ImageFormat::Png)
        .and_then(|()| std::fs::rename(&part, path).map_err(Into::into))
        .map_err(|e| PluginError::failed(format!("cannot write '{}': {e}", path.display())))
}

fn draw(pixels: &mut [u8], train: &[(u64, f64)], val: &[ValPoint]) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(pixels, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let smooth = running_mean(train, (train.len() / 50).clamp(1, 200));
    let values = smooth.iter().map(|p| p.1).chain(val.iter().flat_map(|v| [v.mean, v.zero]));
    let (lo, hi) = values.filter(|v| *v > 0.0).fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo <= hi { (lo / 1.5, hi * 1.5) } else { (1e-3, 1.0) };
    let last = train.last().map_or(1, |p| p.0).max(val.last().map_or(1, |v| v.step)).max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption("infty train: loss", ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0u64..last, (lo..hi).log_scale())?;
    chart.configure_mesh().x_desc("step").y_desc("MSE on Tξ").draw()?;
    chart
        .draw_series(LineSeries::new(smooth, BLUE.stroke_width(2)))?
        .label("training (running mean)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(LineSeries::new(val.iter().map(|v| (v.step, v.mean)), RED.stroke_width(2)))?
        .label("held-out, mean over timesteps")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED));
    chart
        .draw_series(LineSeries::new(val.iter().map(|v| (v.step, v.zero)), BLACK.mix(0.5)))?
        .label("predicting zero")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.5)));
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_mean_averages_the_last_entries() {
        let values = [(1, 1.0), (2, 3.0), (3, 5.0)];
        assert_eq!(running_mean(&values, 2), [(1, 1.0), (2, 2.0), (3, 4.0)]);
    }
}
