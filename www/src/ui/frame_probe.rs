//! The frame-work probe of benchmark B5 (`cargo xtask bench ui`). When the page has a
//! `window.__logsimFrames` array (the benchmark installs it before the app starts), each
//! worker message's main-thread work is pushed onto it in milliseconds: from the message's
//! arrival, through decoding, the Yew render it causes and the effects of that render (the
//! session save among them), to a forced style and layout pass. A frame is recorded for each
//! snapshot drawn (the worker sends the next only after the page acknowledged the last, so no
//! snapshot waits behind another). Without the array the probe does nothing.

use std::cell::Cell;
use wasm_bindgen::{JsCast, JsValue};

thread_local! {
    static STARTED: Cell<Option<f64>> = const { Cell::new(None) };
}

fn frames() -> Option<js_sys::Array> {
    let window = web_sys::window()?;
    let value = js_sys::Reflect::get(&window, &JsValue::from_str("__logsimFrames")).ok()?;
    // The page's own array, not `js_sys::Array::from` (that is JS `Array.from`: a copy, and the
    // pushes would be lost).
    value.dyn_into::<js_sys::Array>().ok()
}

fn now() -> Option<f64> {
    Some(web_sys::window()?.performance()?.now())
}

/// A worker message arrived: the frame's work starts (a later message before the render
/// restarts it: the frame is the newest message's). Yew yields to the browser (a `setTimeout`)
/// once a render pass passes 16 ms; what the browser does meanwhile (painting the previous
/// frame, say) counts in this frame's time.
pub fn message_arrived() {
    if frames().is_some() {
        STARTED.with(|s| s.set(now()));
    }
}

/// The render a message caused is in the DOM. Called from an effect, so the effects declared
/// after it have not run yet: the record waits for the rest of the render pass (a task queued
/// behind the scheduler's, still before the browser's next task), then forces style and layout.
pub fn rendered() {
    let Some(frames) = frames() else { return };
    let Some(started) = STARTED.with(|s| s.take()) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move { record(&frames, started) });
}

fn record(frames: &js_sys::Array, started: f64) {
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        // Reading a layout property makes the browser do the style and layout work now.
        let _ = body.offset_height();
    }
    if let Some(end) = now() {
        frames.push(&JsValue::from_f64(end - started));
    }
}
