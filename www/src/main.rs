//! The logsim web app: one page that runs the `hello` scenario in the browser, draws each
//! partition's log (log start offset, high watermark, log end offset, segments, the consumer's
//! position), and keeps the session in IndexedDB so a reload resumes where it stopped.
//!
//! Shape (DESIGN.md §4.9): the simulator lives in one place ([`driver::Driver`], behind an
//! `Rc<RefCell<..>>` that views only borrow to read); UI state is one `Action` enum and reducer
//! ([`state`]); components are views over props and callbacks ([`view`]). The driver is the
//! only code that steps the simulator or touches storage, and it never lets simulated time pass
//! an incomplete storage request.
//!
//! Natively this is an empty binary so `cargo test --workspace` does not build yew.

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod driver;
#[cfg(target_arch = "wasm32")]
mod state;
#[cfg(target_arch = "wasm32")]
mod view;

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    let document = web_sys::window().and_then(|w| w.document());
    // The static page shows "Loading logsim…" until the app replaces it.
    if let Some(boot) = document.as_ref().and_then(|d| d.get_element_by_id("boot")) {
        boot.remove();
    }
    yew::Renderer::<app::App>::new().render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "logsim-www is the browser app: build it with `trunk build` (or `cargo xtask serve`)."
    );
}
