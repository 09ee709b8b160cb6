//! Colour, decided once from `--color`, the terminal and `NO_COLOR`, and passed down.

use owo_colors::OwoColorize;

/// `--color`: when to colour standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

static CHOSEN: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

/// The `--color` choice [`decide`] was first given (Auto before that): `watch` redraws a
/// terminal without colour under NO_COLOR, but not after an explicit `--color never`.
pub fn chosen() -> ColorChoice {
    CHOSEN.get().copied().unwrap_or(ColorChoice::Auto)
}

/// Decide whether to colour standard output.
pub fn decide(choice: ColorChoice, stdout_is_tty: bool) -> bool {
    let _ = CHOSEN.set(choice);
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
            stdout_is_tty && !no_color && !dumb
        }
    }
}

/// Styles for the few things we colour. With colour off every method returns its input.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub on: bool,
}

impl Palette {
    pub fn header(&self, s: &str) -> String {
        if self.on {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }

    pub fn warn(&self, s: &str) -> String {
        if self.on {
            s.yellow().to_string()
        } else {
            s.to_string()
        }
    }

    pub fn bad(&self, s: &str) -> String {
        if self.on {
            s.red().bold().to_string()
        } else {
            s.to_string()
        }
    }

    pub fn dim(&self, s: &str) -> String {
        if self.on {
            s.dimmed().to_string()
        } else {
            s.to_string()
        }
    }

    pub fn changed(&self, s: &str) -> String {
        if self.on {
            s.black().on_yellow().to_string()
        } else {
            s.to_string()
        }
    }
}
