//! The Crux [`App`]: wires the model, events, effects and view model together.

use crux_core::{App, Command};

use crate::effects::Effect;
use crate::event::Event;
use crate::model::Model;
use crate::view::ViewModel;

/// Kvits. All behaviour is in [`Model::update`] and [`Model::view`].
#[derive(Debug, Default)]
pub struct Kvits;

impl App for Kvits {
    type Event = Event;
    type Model = Model;
    type ViewModel = ViewModel;
    type Effect = Effect;

    fn update(&self, event: Event, model: &mut Model) -> Command<Effect, Event> {
        model.update(event)
    }

    fn view(&self, model: &Model) -> ViewModel {
        model.view()
    }
}
