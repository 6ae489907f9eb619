package tail

import (
	"io/fs"
	"path"
	"path/filepath"
	"strings"
)

// expandGlob returns the paths matching pattern. Besides path.Match syntax
// in each element, an element "**" matches any number of directories.
func expandGlob(pattern string) ([]string, error) {
	if !strings.Contains(pattern, "**") {
		return filepath.Glob(pattern)
	}
	if _, err := path.Match(strings.ReplaceAll(pattern, "**", "*"), ""); err != nil {
		return nil, err
	}
	// Walk from the longest leading part without wildcards.
	parts := strings.Split(filepath.ToSlash(pattern), "/")
	base := []string{}
	for _, p := range parts {
		if strings.ContainsAny(p, "*?[\\") {
			break
		}
		base = append(base, p)
	}
	root := strings.Join(base, "/")
	if root == "" {
		root = "/"
		if !strings.HasPrefix(pattern, "/") {
			root = "."
		}
	}
	var out []string
	err := filepath.WalkDir(filepath.FromSlash(root), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable directory is skipped, not fatal
		}
		if d.IsDir() {
			return nil
		}
		if matchGlob(pattern, p) {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// inputPaths lists the files of in's globs that its excludes let through,
// in the globs' order. A glob that cannot be expanded is passed to bad and
// skipped.
func inputPaths(in Input, bad func(pattern string, err error)) []string {
	var out []string
	for _, pattern := range in.Paths {
		paths, err := expandGlob(pattern)
		if err != nil {
			bad(pattern, err)
			continue
		}
		for _, p := range paths {
			if !excluded(in.Exclude, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// matchGlob reports whether name matches pattern, element by element, with
// "**" matching zero or more elements.
func matchGlob(pattern, name string) bool {
	return matchParts(strings.Split(filepath.ToSlash(pattern), "/"), strings.Split(filepath.ToSlash(name), "/"))
}

func matchParts(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(parts); i++ {
				if matchParts(pat[1:], parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], parts[0]); err != nil || !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}

// excluded reports whether any exclude glob matches p. A glob with a '/'
// is matched against the whole path ("**" allowed); one without is matched
// against every element of it, so "*_kube-system_*" excludes both
// /var/log/containers/dns_kube-system_dns-1.log and
// /var/log/pods/kube-system_dns_1/dns/0.log.
func excluded(excludes []string, p string) bool {
	elems := strings.Split(filepath.ToSlash(p), "/")
	for _, e := range excludes {
		if strings.Contains(e, "/") {
			if matchGlob(e, p) {
				return true
			}
			continue
		}
		for _, el := range elems {
			if ok, err := path.Match(e, el); err == nil && ok {
				return true
			}
		}
	}
	return false
}
