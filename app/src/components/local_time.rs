//! A moment in the viewer's time zone. The server does not know the zone,
//! so it renders UTC (labelled as such); once hydrated, the browser rewrites
//! the text with its own zone and language. With JavaScript off the UTC
//! text stays, which is still correct.

use leptos::prelude::*;

use crate::models::Stamp;

#[island]
pub fn LocalTime(stamp: Stamp) -> impl IntoView {
    let node = NodeRef::<leptos::html::Time>::new();
    #[cfg(feature = "hydrate")]
    {
        let iso = stamp.iso.clone();
        Effect::new(move |_| {
            if let Some(el) = node.get() {
                let when = js_sys::Date::new(&iso.as_str().into());
                if !when.get_time().is_nan() {
                    let text: String = when
                        .to_locale_string("default", &js_sys::Object::new().into())
                        .into();
                    el.set_text_content(Some(&text));
                }
            }
        });
    }
    view! { <time node_ref=node datetime=stamp.iso>{stamp.text}</time> }
}
