# Sourced by the benchmarks: the binaries they measure, built as install.sh
# builds them for users.
#   $bin          the installed build (static-pie, musl), with
#                 kube-sa-token-full beside it (as for BIN_DYNAMIC);
#                 BIN=path uses that file instead of building
#   $bin_dynamic  the same code linked dynamically (install.sh --dynamic):
#                 libfaketime, preloaded by the refresh trace, needs the
#                 dynamic loader; BIN_DYNAMIC=path uses that file instead
# cargo keeps both link results (they differ in their rustc flags), so after
# a change to the code each is linked once (fat LTO: about 80 s each).
bench_builds=$repo/target/bench/bin
mkdir -p "$bench_builds"
if [ -z "${BIN_DYNAMIC:-}" ]; then
  built=$("$repo/install.sh" --dynamic --build-only)
  mkdir -p "$bench_builds/dynamic"
  cp "$built" "$built-full" "$bench_builds/dynamic/"
  BIN_DYNAMIC=$bench_builds/dynamic/kube-sa-token
fi
if [ -z "${BIN:-}" ]; then
  built=$("$repo/install.sh" --build-only)
  cp "$built" "$built-full" "$bench_builds/"
  BIN=$bench_builds/kube-sa-token
fi
bin=$BIN bin_dynamic=$BIN_DYNAMIC
