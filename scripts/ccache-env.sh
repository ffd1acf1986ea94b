# Sourced (by scripts/test and scripts/package): how scripts/test's build
# and the Debian 12 package's build share compiled objects through ccache,
# so that the suite compiles the program once for both.
#
#   ccache_env CACHE_DIR SOURCE_ROOT
#
# exports what a CMake build of SOURCE_ROOT needs for it. A hit needs the
# same compiler, the same source text and the same arguments; the two
# builds compile with the same flags (Debian's, from dpkg-buildflags),
# but from other directories:
#   CCACHE_BASEDIR     absolute paths under the source root become
#                      relative ones (../src/... from either build
#                      directory, one level below its root);
#   CCACHE_NOHASHDIR   the build directory itself is left out of the hash
#                      (-ffile-prefix-map maps the source root to "." in
#                      both; the debug information may then name the other
#                      build's directory, build/ or obj-*, as its own);
#   CCACHE_IGNOREOPTIONS=-Werror
#                      scripts/test compiles with -Werror, the package
#                      without: an object compiled with it had no warning,
#                      and is the same object without it.
# The cache stays in CACHE_DIR: nothing is written to ~ or /tmp.
ccache_env() {
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache
  export CCACHE_DIR=$1 CCACHE_BASEDIR=$2 CCACHE_NOHASHDIR=1
  export CCACHE_IGNOREOPTIONS=-Werror
  export CCACHE_TEMPDIR=$1/tmp
}
