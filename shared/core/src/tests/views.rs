//! insta snapshots of every screen's view model in its main states.
