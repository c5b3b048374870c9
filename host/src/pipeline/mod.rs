//! The pipeline planner: `read IN ! OP [--param v]... ! write OUT` split into steps,
//! the built-in `read` and `write` steps, and the plan that checks every step, builds
//! the operators and runs them through the engine into the output.

pub mod builtins;
pub mod parse;
pub mod plan;
