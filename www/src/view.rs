//! Views: components over props and callbacks. They get a read-only `ClusterView` (and the
//! records on screen) and never touch the simulator.

use logsim::sim::hello::{ClusterView, PartitionView, RecordView};
use std::collections::BTreeMap;
use yew::prelude::*;

/// Most offset cells drawn per partition; older ones are elided.
pub const CELLS_MAX: i64 = 60;

const CELL_W: f64 = 16.0;
const CELL_GAP: f64 = 2.0;
const LEFT_PAD: f64 = 92.0;
const RIGHT_PAD: f64 = 70.0;
const CELLS_TOP: f64 = 22.0;
const CELL_H: f64 = 30.0;
const TICKS_Y: f64 = CELLS_TOP + CELL_H + 13.0;
const LABEL_ROW0_Y: f64 = TICKS_Y + 17.0;
const LABEL_ROW_H: f64 = 16.0;
const LABEL_CHAR_W: f64 = 7.0;

/// The first offset drawn for a partition.
pub fn visible_from(p: &PartitionView) -> i64 {
    p.log_start_offset.max(p.log_end_offset - CELLS_MAX)
}

#[derive(Properties, PartialEq)]
pub struct PartitionProps {
    pub topic: String,
    pub partition: PartitionView,
    /// Records in `[visible_from, log_end_offset)`, for hover text.
    pub records: Vec<RecordView>,
}

/// The x coordinate of the left edge of `offset`'s cell.
fn x_of(offset: i64, from: i64) -> f64 {
    LEFT_PAD + (offset - from) as f64 * (CELL_W + CELL_GAP)
}

#[derive(Clone, Copy, PartialEq)]
enum CellKind {
    Consumed,
    Committed,
    Uncommitted,
}

impl CellKind {
    fn of(offset: i64, p: &PartitionView) -> CellKind {
        if offset >= p.high_watermark {
            CellKind::Uncommitted
        } else if offset < p.consumer_position {
            CellKind::Consumed
        } else {
            CellKind::Committed
        }
    }

    fn class(self) -> &'static str {
        match self {
            CellKind::Consumed => "cell cell-consumed",
            CellKind::Committed => "cell cell-committed",
            CellKind::Uncommitted => "cell cell-uncommitted",
        }
    }

    fn words(self) -> &'static str {
        match self {
            CellKind::Consumed => "committed, consumed",
            CellKind::Committed => "committed, not consumed yet",
            CellKind::Uncommitted => "not committed yet (above the high watermark)",
        }
    }
}

/// One offset marker: where it is drawn, the value it names, and its kind.
struct Marker {
    /// The offset whose cell's left edge the marker sits on (clamped into the drawing).
    at: i64,
    value: i64,
    name: &'static str,
    class: &'static str,
}

/// Markers drawn at the same place for the same value share one label ("HW · LEO 27").
struct Label {
    at: i64,
    value: i64,
    parts: Vec<(&'static str, &'static str)>,
    /// Width estimate in SVG units, and whether the text runs left of the line (near the end).
    width: f64,
    leftward: bool,
}

fn merge_markers(markers: Vec<Marker>, from: i64, svg_width: f64) -> Vec<Label> {
    let mut labels: Vec<Label> = Vec::new();
    for m in markers {
        match labels
            .iter_mut()
            .find(|l| l.at == m.at && l.value == m.value)
        {
            Some(label) => label.parts.push((m.name, m.class)),
            None => labels.push(Label {
                at: m.at,
                value: m.value,
                parts: vec![(m.name, m.class)],
                width: 0.0,
                leftward: false,
            }),
        }
    }
    for label in &mut labels {
        let chars: usize = label.parts.iter().map(|(n, _)| n.len() + 3).sum::<usize>()
            + label.value.to_string().len();
        label.width = chars as f64 * LABEL_CHAR_W;
        label.leftward = x_of(label.at, from) + 4.0 + label.width > svg_width - 2.0;
    }
    labels.sort_by_key(|l| l.at);
    labels
}

/// Puts each label on the first row where it overlaps no earlier label; returns the rows.
fn place_labels(labels: &[Label], from: i64) -> Vec<u32> {
    let mut rows_end: Vec<f64> = Vec::new();
    let mut placed = Vec::with_capacity(labels.len());
    for label in labels {
        let x = x_of(label.at, from);
        let (left, right) = if label.leftward {
            (x - 4.0 - label.width, x)
        } else {
            (x, x + 4.0 + label.width)
        };
        let row = match rows_end.iter().position(|&end| end < left) {
            Some(r) => r,
            None => {
                rows_end.push(f64::MIN);
                rows_end.len() - 1
            }
        };
        rows_end[row] = right + 6.0;
        placed.push(row as u32);
    }
    placed
}

#[function_component(PartitionLogView)]
pub fn partition_log_view(props: &PartitionProps) -> Html {
    let p = &props.partition;
    let from = visible_from(p);
    let leo = p.log_end_offset;
    let elided = from - p.log_start_offset;
    let by_offset: BTreeMap<i64, &RecordView> =
        props.records.iter().map(|r| (r.offset, r)).collect();

    let width = x_of(from + CELLS_MAX, from) + RIGHT_PAD;
    let markers = vec![
        Marker {
            at: p.log_start_offset.max(from),
            value: p.log_start_offset,
            name: if elided > 0 {
                "◂ log start"
            } else {
                "log start"
            },
            class: "marker-start",
        },
        Marker {
            at: p.consumer_position.clamp(from, leo),
            value: p.consumer_position,
            name: "consumer",
            class: "marker-consumer",
        },
        Marker {
            at: p.high_watermark.clamp(from, leo),
            value: p.high_watermark,
            name: "HW",
            class: "marker-hw",
        },
        Marker {
            at: leo,
            value: leo,
            name: "LEO",
            class: "marker-leo",
        },
    ];
    let labels = merge_markers(markers, from, width);
    let rows = place_labels(&labels, from);
    let row_count = rows.iter().copied().max().unwrap_or(0) + 1;
    let height = LABEL_ROW0_Y + f64::from(row_count) * LABEL_ROW_H;

    let cells: Html = (from..leo)
        .map(|offset| {
            let kind = CellKind::of(offset, p);
            let x = x_of(offset, from);
            let record = by_offset.get(&offset);
            let hover = match record {
                Some(r) => format!(
                    "offset {offset}\nkey: {}\nvalue: {}\ntimestamp: {} ms\n{}",
                    r.key.as_deref().unwrap_or("(null)"),
                    r.value.as_deref().unwrap_or("(null)"),
                    r.timestamp_ms,
                    kind.words()
                ),
                None => format!("offset {offset}\n{}", kind.words()),
            };
            html! {
                <rect class={kind.class()} x={fmt(x)} y={fmt(CELLS_TOP)} width={fmt(CELL_W)}
                    height={fmt(CELL_H)} rx="2">
                    <title>{hover}</title>
                </rect>
            }
        })
        .collect();

    let ticks: Html = (from..=leo)
        .filter(|o| o % 10 == 0)
        .map(|o| {
            html! {
                <text class="tick" x={fmt(x_of(o, from) + CELL_W / 2.0)} y={fmt(TICKS_Y)}
                    text-anchor="middle">{o}</text>
            }
        })
        .collect();

    let segments: Html = p
        .segments
        .iter()
        .filter(|s| s.base_offset >= from && s.base_offset <= leo)
        .map(|s| {
            let x = x_of(s.base_offset, from) - CELL_GAP / 2.0;
            html! {
                <g class="segment">
                    <line x1={fmt(x)} x2={fmt(x)} y1={fmt(CELLS_TOP - 8.0)}
                        y2={fmt(CELLS_TOP + CELL_H + 3.0)} />
                    <text x={fmt(x + 2.0)} y={fmt(CELLS_TOP - 10.0)}>
                        {format!("segment {}", s.base_offset)}
                    </text>
                </g>
            }
        })
        .collect();

    let marker_html: Html = labels
        .iter()
        .zip(&rows)
        .map(|(label, &row)| {
            let x = x_of(label.at, from) - CELL_GAP / 2.0;
            let y = LABEL_ROW0_Y + f64::from(row) * LABEL_ROW_H;
            let (text_x, anchor) = if label.leftward {
                (x - 4.0, "end")
            } else {
                (x + 4.0, "start")
            };
            let line_class = format!("marker {}", label.parts[0].1);
            let parts: Html = label
                .parts
                .iter()
                .enumerate()
                .map(|(i, (name, class))| {
                    html! {
                        <>
                            if i > 0 { <tspan class="sep">{" · "}</tspan> }
                            <tspan class={*class}>{*name}</tspan>
                        </>
                    }
                })
                .collect();
            html! {
                <g class={line_class}>
                    <line x1={fmt(x)} x2={fmt(x)} y1={fmt(CELLS_TOP - 3.0)} y2={fmt(y + 3.0)} />
                    <text x={fmt(text_x)} y={fmt(y)} text-anchor={anchor}>
                        {parts}<tspan class="value">{format!(" {}", label.value)}</tspan>
                    </text>
                </g>
            }
        })
        .collect();

    let elision = if elided > 0 {
        html! {
            <g class="elided">
                <text x={fmt(LEFT_PAD - 8.0)} y={fmt(CELLS_TOP + CELL_H / 2.0 + 4.0)}
                    text-anchor="end">{format!("… {elided} older")}</text>
            </g>
        }
    } else {
        Html::default()
    };
    let empty = if leo == p.log_start_offset {
        html! {
            <text class="empty" x={fmt(LEFT_PAD + 8.0)} y={fmt(CELLS_TOP + CELL_H / 2.0 + 4.0)}>
                {"empty: no records yet"}
            </text>
        }
    } else {
        Html::default()
    };

    let lag = (p.high_watermark - p.consumer_position).max(0);
    let bytes: u64 = p.segments.iter().map(|s| s.size_bytes).sum();
    let title_id = format!("partition-{}-title", p.partition);
    let desc_id = format!("partition-{}-desc", p.partition);
    let description = format!(
        "Offsets {from} to {last} shown{older}. Log start offset {start}, high watermark {hw}, log end offset {leo}, consumer position {pos} (lag {lag}). {n} segment(s).",
        last = leo - 1,
        older = if elided > 0 { format!(", {elided} older offsets elided") } else { String::new() },
        start = p.log_start_offset,
        hw = p.high_watermark,
        pos = p.consumer_position,
        n = p.segments.len(),
    );

    html! {
        <article class="partition" data-testid={format!("partition-{}", p.partition)}
            data-leo={leo.to_string()} data-hw={p.high_watermark.to_string()}
            data-log-start={p.log_start_offset.to_string()}
            aria-labelledby={title_id.clone()}>
            <header class="partition-head">
                <h3 id={title_id.clone()}>{format!("{}-{}", props.topic, p.partition)}</h3>
                <p class="partition-facts">
                    <span>{"log start "}<b>{p.log_start_offset}</b></span>
                    <span>{"HW "}<b>{p.high_watermark}</b></span>
                    <span>{"LEO "}<b>{leo}</b></span>
                    <span>{"consumer "}<b>{p.consumer_position}</b></span>
                    <span>{"lag "}<b>{lag}</b></span>
                    <span>{format!("{} segment{} · {}", p.segments.len(),
                        if p.segments.len() == 1 { "" } else { "s" }, human_bytes(bytes))}</span>
                </p>
            </header>
            <svg class="log" role="img" aria-labelledby={format!("{title_id} {desc_id}")}
                viewBox={format!("0 0 {} {}", fmt(width), fmt(height))}
                preserveAspectRatio="xMinYMin meet">
                <desc id={desc_id}>{description}</desc>
                {elision}
                {cells}
                {empty}
                {ticks}
                {segments}
                {marker_html}
            </svg>
        </article>
    }
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

fn human_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

#[function_component(Legend)]
pub fn legend() -> Html {
    html! {
        <ul class="legend" aria-label="Legend">
            <li><span class="swatch cell-consumed" aria-hidden="true"></span>{"committed and consumed"}</li>
            <li><span class="swatch cell-committed" aria-hidden="true"></span>{"committed (below the high watermark), not consumed yet"}</li>
            <li><span class="swatch cell-uncommitted" aria-hidden="true"></span>{"written, not committed yet"}</li>
            <li><span class="swatch swatch-segment" aria-hidden="true"></span>{"segment boundary (base offset)"}</li>
        </ul>
    }
}

#[derive(Properties, PartialEq)]
pub struct CountersProps {
    pub view: ClusterView,
}

#[function_component(Counters)]
pub fn counters(props: &CountersProps) -> Html {
    let v = &props.view;
    let lag: i64 = v
        .partitions
        .iter()
        .map(|p| (p.high_watermark - p.consumer_position).max(0))
        .sum();
    let in_flight = v
        .producer
        .records_sent
        .saturating_sub(v.producer.records_acked);
    html! {
        <section class="card counters" aria-labelledby="counters-title">
            <h2 id="counters-title">{"Clients"}</h2>
            <h3>{"Producer"}</h3>
            <dl>
                <dt>{"records sent"}</dt><dd data-testid="records-sent">{v.producer.records_sent}</dd>
                <dt>{"acknowledged"}</dt><dd>{v.producer.records_acked}</dd>
                <dt>{"awaiting ack"}</dt><dd>{in_flight}</dd>
                <dt>{"produce errors"}</dt><dd>{v.producer.produce_errors}</dd>
            </dl>
            <h3>{"Consumer"}</h3>
            <dl>
                <dt>{"records consumed"}</dt><dd data-testid="records-consumed">{v.consumer.records_consumed}</dd>
                <dt>{"total lag"}</dt><dd>{lag}</dd>
            </dl>
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct TraceProps {
    /// Newest first.
    pub lines: Vec<String>,
}

#[function_component(TracePanel)]
pub fn trace_panel(props: &TraceProps) -> Html {
    html! {
        <section class="card trace" aria-labelledby="trace-title">
            <h2 id="trace-title">{"Trace "}<small>{"(newest first)"}</small></h2>
            if props.lines.is_empty() {
                <p class="muted">{"Nothing has happened yet. Press Play or Step."}</p>
            } else {
                <ol class="trace-lines" data-testid="trace">
                    { for props.lines.iter().map(|l| html! { <li>{l}</li> }) }
                </ol>
            }
        </section>
    }
}
