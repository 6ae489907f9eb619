package config

// Name checks, written out by hand rather than as package-level regexps.

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// validName reports whether s is non-empty, its first byte passes first and
// every other byte passes rest.
func validName(s string, first, rest func(byte) bool) bool {
	if s == "" || !first(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !rest(s[i]) {
			return false
		}
	}
	return true
}

// isRuleName: ^[a-zA-Z_][a-zA-Z0-9_.-]*$ (rule names become label values
// of self-metrics and appear in --explain output).
func isRuleName(s string) bool {
	return validName(s,
		func(c byte) bool { return isLetter(c) || c == '_' },
		func(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' || c == '.' || c == '-' })
}

// isMetricName: ^[a-zA-Z_:][a-zA-Z0-9_:]*$, the Prometheus metric name.
func isMetricName(s string) bool {
	return validName(s,
		func(c byte) bool { return isLetter(c) || c == '_' || c == ':' },
		func(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' || c == ':' })
}

// isLabelName: ^[a-zA-Z_][a-zA-Z0-9_]*$, the Prometheus label name.
func isLabelName(s string) bool {
	return validName(s,
		func(c byte) bool { return isLetter(c) || c == '_' },
		func(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' })
}

// isPatternName: ^[A-Za-z0-9_]+$, what %{NAME} can refer to.
func isPatternName(s string) bool {
	ok := func(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }
	return validName(s, ok, ok)
}
