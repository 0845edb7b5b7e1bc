//! Charts over the session's samples, drawn as labelled SVG (text stays text): throughput,
//! under-replicated and offline partitions, ISR size against the replicas assigned, and the
//! high watermark against the log end offset, and each consumer group's lag.

use logsim::session::metrics::Sample;
use std::rc::Rc;
use yew::prelude::*;

const W: f64 = 300.0;
const H: f64 = 110.0;
const PAD_L: f64 = 38.0;
const PAD_B: f64 = 18.0;
/// The lag chart's series classes, one per group.
const LAG_CLASSES: [&str; 5] = ["s1", "s3", "s2", "s4", "s5"];

#[derive(Properties, PartialEq)]
pub struct ChartsProps {
    pub samples: Rc<Vec<Sample>>,
}

struct Series {
    label: String,
    class: &'static str,
    points: Vec<(f64, f64)>,
}

fn chart(title: &str, testid: &str, unit: &str, series: Vec<Series>) -> Html {
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0_f64, f64::max);
    let x_min = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(x_max, f64::min);
    let y_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(1.0_f64, f64::max)
        * 1.1;
    let sx = |x: f64| PAD_L + (x - x_min) / (x_max - x_min).max(1e-9) * (W - PAD_L - 6.0);
    let sy = |y: f64| (H - PAD_B) - y / y_max * (H - PAD_B - 8.0);
    let lines: Html = series
        .iter()
        .map(|s| {
            let points = s
                .points
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
                .collect::<Vec<_>>()
                .join(" ");
            html! { <polyline class={classes!("series", s.class)} points={points} /> }
        })
        .collect();
    let last: Vec<String> = series
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s.label,
                s.points.last().map_or("–".to_owned(), |p| fmt_num(p.1))
            )
        })
        .collect();
    html! {
        <figure class="chart" data-testid={testid.to_owned()}>
            <figcaption>{ title.to_owned() }</figcaption>
            <svg viewBox={format!("0 0 {W} {H}")} role="img" aria-label={format!("{title}: {}", last.join(", "))}>
                <line class="axis" x1={PAD_L.to_string()} x2={PAD_L.to_string()} y1="4" y2={(H - PAD_B).to_string()} />
                <line class="axis" x1={PAD_L.to_string()} x2={(W - 4.0).to_string()} y1={(H - PAD_B).to_string()} y2={(H - PAD_B).to_string()} />
                <text class="tick" x={(PAD_L - 4.0).to_string()} y="12" text-anchor="end">{ fmt_num(y_max / 1.1) }</text>
                <text class="tick" x={(PAD_L - 4.0).to_string()} y={(H - PAD_B).to_string()} text-anchor="end">{ "0" }</text>
                <text class="tick" x={PAD_L.to_string()} y={(H - 4.0).to_string()}>{ format!("{:.0} s", x_min) }</text>
                <text class="tick" x={(W - 4.0).to_string()} y={(H - 4.0).to_string()} text-anchor="end">{ format!("{:.0} s", x_max) }</text>
                <text class="tick" x={(PAD_L + 4.0).to_string()} y="12">{ unit.to_owned() }</text>
                { lines }
            </svg>
            <div class="chart-legend">
                { for series.iter().map(|s| html! {
                    <span><i class={classes!("swatch", s.class)} aria-hidden="true"></i>{ format!(" {} {}", s.label, s.points.last().map_or("–".to_owned(), |p| fmt_num(p.1))) }</span>
                }) }
            </div>
        </figure>
    }
}

fn fmt_num(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[function_component(Charts)]
pub fn charts(props: &ChartsProps) -> Html {
    let s = &props.samples;
    if s.len() < 2 {
        return html! {
            <section class="card charts" aria-labelledby="charts-h">
                <h2 id="charts-h">{ "Charts" }</h2>
                <p class="muted">{ "Charts appear once the cluster has run for a moment." }</p>
            </section>
        };
    }
    let t = |x: &Sample| x.time_ms as f64 / 1000.0;
    // Over a sliding window of up to ten samples: per 100 ms sample a slow producer's rate
    // is all spikes.
    let throughput: Vec<(f64, f64)> = (1..s.len())
        .map(|i| {
            let (a, b) = (&s[i.saturating_sub(10)], &s[i]);
            let dt = (b.time_ms.saturating_sub(a.time_ms)) as f64 / 1000.0;
            let d = b.acked_total.saturating_sub(a.acked_total) as f64;
            (t(b), if dt > 0.0 { d / dt } else { 0.0 })
        })
        .collect();
    // Every group seen in the samples, in order of first appearance.
    let mut groups: Vec<String> = Vec::new();
    for x in s.iter() {
        for (g, _) in &x.group_lag {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
    }
    html! {
        <section class="card charts" aria-labelledby="charts-h">
            <h2 id="charts-h">{ "Charts" }</h2>
            <div class="chart-grid">
                { chart("Acknowledged records per second", "chart-throughput", "records/s", vec![
                    Series { label: "acks/s".into(), class: "s1", points: throughput },
                ]) }
                { chart("Partitions in trouble", "chart-urp", "partitions", vec![
                    Series { label: "under-replicated".into(), class: "s2", points: s.iter().map(|x| (t(x), f64::from(x.under_replicated))).collect() },
                    Series { label: "offline".into(), class: "s3", points: s.iter().map(|x| (t(x), f64::from(x.offline))).collect() },
                ]) }
                { chart("ISR size (sum over partitions)", "chart-isr", "replicas", vec![
                    Series { label: "in ISR".into(), class: "s1", points: s.iter().map(|x| (t(x), f64::from(x.isr_total))).collect() },
                    Series { label: "assigned".into(), class: "s4", points: s.iter().map(|x| (t(x), f64::from(x.replicas_total))).collect() },
                ]) }
                { chart("High watermark vs log end offset (sums)", "chart-hw", "offsets", vec![
                    Series { label: "LEO".into(), class: "s3", points: s.iter().map(|x| (t(x), x.log_end_offset_total as f64)).collect() },
                    Series { label: "HW".into(), class: "s5", points: s.iter().map(|x| (t(x), x.high_watermark_total as f64)).collect() },
                ]) }
                if !groups.is_empty() {
                    { chart("Consumer lag per group (committed offsets)", "chart-lag", "records", groups.iter().enumerate().map(|(i, g)| Series {
                        label: g.clone(),
                        class: LAG_CLASSES[i % LAG_CLASSES.len()],
                        points: s.iter().map(|x| (t(x), x.group_lag.iter().find(|(id, _)| id == g).map_or(0.0, |(_, l)| *l as f64))).collect(),
                    }).collect()) }
                }
            </div>
        </section>
    }
}
