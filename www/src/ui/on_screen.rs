//! Draw what is seen: `OnScreen` passes its children's updates through only while its box is
//! on the screen (or within `MARGIN_PX` of it). Off screen it keeps showing the children it
//! last drew, so a partition card or a chart below the fold costs a snapshot nothing: no Yew
//! render of its component, no DOM change, no layout (B5). Scrolled back into view, it draws
//! the newest data at once.
//!
//! Only while `gate` is set (the cluster plays): a paused picture is one snapshot, drawn whole,
//! so a screenshot or a scroll shows every card current. An `IntersectionObserver` watches the
//! box; where there is none (an old browser), every update passes through.

use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit};
use yew::prelude::*;

/// How far outside the viewport a box still counts as seen: a card scrolled in by a wheel
/// notch is already up to date.
const MARGIN_PX: u32 = 120;

#[derive(Properties, PartialEq)]
pub struct OnScreenProps {
    pub children: Html,
    /// The wrapper's class (it is a `div`).
    #[prop_or_default]
    pub class: Classes,
    /// Hold updates while off screen (set while playing).
    pub gate: bool,
}

#[function_component(OnScreen)]
pub fn on_screen(props: &OnScreenProps) -> Html {
    let node = use_node_ref();
    // Seen until the observer says otherwise: the first picture is always drawn.
    let seen = use_state_eq(|| true);
    let shown = use_mut_ref(|| props.children.clone());
    {
        let node = node.clone();
        let seen = seen.clone();
        use_effect_with((), move |_| {
            let observer = node
                .cast::<web_sys::Element>()
                .and_then(|element| watch(&element, seen));
            move || {
                if let Some((observer, _callback)) = observer {
                    observer.disconnect();
                }
            }
        });
    }
    if *seen || !props.gate {
        *shown.borrow_mut() = props.children.clone();
    }
    let children = shown.borrow().clone();
    html! { <div ref={node} class={classes!("on-screen", props.class.clone())}>{ children }</div> }
}

type Watch = (
    IntersectionObserver,
    Closure<dyn FnMut(js_sys::Array, IntersectionObserver)>,
);

fn watch(element: &web_sys::Element, seen: UseStateHandle<bool>) -> Option<Watch> {
    let seen = Rc::new(RefCell::new(seen));
    let callback = Closure::<dyn FnMut(js_sys::Array, IntersectionObserver)>::new(
        move |entries: js_sys::Array, _observer: IntersectionObserver| {
            // The newest entry of this element decides.
            if let Some(entry) = entries
                .iter()
                .filter_map(|e| e.dyn_into::<IntersectionObserverEntry>().ok())
                .next_back()
            {
                seen.borrow().set(entry.is_intersecting());
            }
        },
    );
    let options = IntersectionObserverInit::new();
    options.set_root_margin(&format!("{MARGIN_PX}px 0px {MARGIN_PX}px 0px"));
    let observer =
        IntersectionObserver::new_with_options(callback.as_ref().unchecked_ref(), &options).ok()?;
    observer.observe(element);
    Some((observer, callback))
}
