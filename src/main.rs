//! The `sfn-harness` command line; everything it does is in the library's
//! `cli` module.

fn main() -> std::process::ExitCode {
    sfn_harness::__private::cli_main()
}
