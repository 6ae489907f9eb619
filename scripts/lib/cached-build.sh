# Shared by scripts/build-*.sh, which build the test servers into a cache
# directory outside the repository. Source it; it defines functions only.

# sha256 prints the SHA-256 of standard input in hex.
sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum | cut -d' ' -f1
	else
		shasum -a 256 | cut -d' ' -f1
	fi
}

# cache_key WORDS FILE... prints 16 hex digits that change whenever WORDS
# (versions, Go version and target) or the content of a FILE does.
cache_key() {
	local words=$1
	shift
	{
		echo "$words"
		for f in "$@"; do
			echo "$f $(sha256 <"$f")"
		done
	} | sha256 | cut -c1-16
}

# build_once DIR BUILD runs the function BUILD while holding DIR/.lock, so
# that concurrent callers (go test runs packages in parallel) build once:
# BUILD must first check whether another caller finished meanwhile. BUILD
# writes DIR/*.tmp.$$ files and renames them into place; leftovers go at exit.
build_once() {
	local dir=$1 build=$2
	mkdir -p "$dir"
	trap 'rm -f "'"$dir"'"/*.tmp.$$' EXIT
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$dir/.lock"
		flock 9
		"$build"
		flock -u 9
	else
		"$build"
	fi
}
