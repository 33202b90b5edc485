//! Bound parameters: the values a statement's placeholders (`$1, $2` on
//! PostgreSQL, `?` or `?1` on SQLite) are given, sent apart from the SQL
//! text so they are never parsed as SQL.
//!
//! A tuple of up to 16 values is [`Params`], and so is `()` for none; each
//! value is anything sqlx encodes for the backend (integers, floats, `bool`,
//! `&str`, `String`, `&[u8]`, `Option<T>` for `NULL`, and the types sqlx's
//! own features add). For a number of values known only at run time, build
//! an [`Args`].
//!
//! ```
//! use servitor::db::{Args, Params, Sqlite};
//!
//! fn takes<P: Params<Sqlite>>(_: P) {}
//! takes(());
//! takes((1_i64,));
//! takes((1_i64, "ada", Some(2.5_f64), None::<String>));
//! let mut ids = Args::<Sqlite>::new();
//! for id in [3_i64, 5, 8] {
//!     ids = ids.bind(id);
//! }
//! assert_eq!(ids.len(), 3);
//! takes(ids);
//! ```

use super::backend::{Backend, Value};
use sqlx::error::BoxDynError;
use sqlx::Arguments;
use std::fmt;

/// Values for a statement's placeholders, in order. Implemented for `()`,
/// tuples of up to 16 [`Value`]s and [`Args`].
pub trait Params<B: Backend>: Send {
    /// The values as the driver's arguments; an error if a value could not
    /// be encoded.
    fn into_arguments(self) -> Result<B::Arguments, BoxDynError>;
}

impl<B: Backend> Params<B> for () {
    fn into_arguments(self) -> Result<B::Arguments, BoxDynError> {
        Ok(B::Arguments::default())
    }
}

macro_rules! tuple_params {
    ($($name:ident),+) => {
        impl<B: Backend, $($name: Value<B>),+> Params<B> for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_arguments(self) -> Result<B::Arguments, BoxDynError> {
                let ($($name,)+) = self;
                let mut args = B::Arguments::default();
                $(args.add($name)?;)+
                Ok(args)
            }
        }
    };
}

tuple_params!(A);
tuple_params!(A, B2);
tuple_params!(A, B2, C);
tuple_params!(A, B2, C, D);
tuple_params!(A, B2, C, D, E);
tuple_params!(A, B2, C, D, E, F);
tuple_params!(A, B2, C, D, E, F, G);
tuple_params!(A, B2, C, D, E, F, G, H);
tuple_params!(A, B2, C, D, E, F, G, H, I);
tuple_params!(A, B2, C, D, E, F, G, H, I, J);
tuple_params!(A, B2, C, D, E, F, G, H, I, J, K);
tuple_params!(A, B2, C, D, E, F, G, H, I, J, K, L);
tuple_params!(A, B2, C, D, E, F, G, H, I, J, K, L, M);
tuple_params!(A, B2, C, D, E, F, G, H, I, J, K, L, M, N);
tuple_params!(A, B2, C, D, E, F, G, H, I, J, K, L, M, N, O);
tuple_params!(A, B2, C, D, E, F, G, H, I, J, K, L, M, N, O, P);

/// Parameters collected one by one, for statements whose number of
/// placeholders is known only at run time. An encoding error is kept and
/// returned when the statement runs.
pub struct Args<B: Backend> {
    args: Result<B::Arguments, BoxDynError>,
    len: usize,
}

impl<B: Backend> Args<B> {
    /// No values yet.
    pub fn new() -> Self {
        Args {
            args: Ok(B::Arguments::default()),
            len: 0,
        }
    }

    /// Adds the value of the next placeholder.
    pub fn bind(mut self, value: impl Value<B>) -> Self {
        if let Ok(args) = &mut self.args {
            if let Err(e) = args.add(value) {
                self.args =
                    Err(format!("parameter {} could not be encoded: {e}", self.len + 1).into());
            }
        }
        self.len += 1;
        self
    }

    /// How many values were added.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none were added.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<B: Backend> Default for Args<B> {
    fn default() -> Self {
        Args::new()
    }
}

impl<B: Backend> fmt::Debug for Args<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The values themselves may be secrets: show only how many.
        f.debug_struct("Args").field("len", &self.len).finish()
    }
}

impl<B: Backend> Params<B> for Args<B> {
    fn into_arguments(self) -> Result<B::Arguments, BoxDynError> {
        self.args
    }
}
