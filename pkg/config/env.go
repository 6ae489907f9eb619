package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// expandEnv replaces environment references in s, one configuration scalar:
//
//	${VAR}          the variable's value; "" when unset
//	${VAR:-default} the value, or default when VAR is unset or empty
//	${VAR:?message} the value; an error saying message when VAR is unset or empty
//	$$              a literal $
//
// Any other $ is kept as it is, so regular expressions such as '^a$' need
// no escaping. A default or message is taken literally up to the first }:
// it is not expanded itself. VAR must match ^[A-Za-z_][A-Za-z0-9_]*$.
//
// vars lists the variables referenced, in order and without repeats, even
// when unset: the result then came, at least in part, from the environment
// and must not be shown in messages. Errors name variables, never values.
func expandEnv(s string, lookup func(string) (string, bool)) (out string, vars []string, err error) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		i += j
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			b.WriteByte('$')
			i += 2
			continue
		case !strings.HasPrefix(s[i:], "${"):
			b.WriteByte('$')
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", vars, errors.New("unterminated ${ (write $$ for a literal $)")
		}
		ref := s[i+2 : i+end]
		i += end + 1

		name, op, arg := ref, "", ""
		if k := strings.IndexByte(ref, ':'); k >= 0 {
			name, op, arg = ref[:k], ref[k:min(k+2, len(ref))], ref[min(k+2, len(ref)):]
		}
		if !isEnvName(name) {
			return "", vars, fmt.Errorf("invalid environment reference ${%s}: the variable name must match ^[A-Za-z_][A-Za-z0-9_]*$", ref)
		}
		if op != "" && op != ":-" && op != ":?" {
			return "", vars, fmt.Errorf("invalid environment reference ${%s}: want ${%s}, ${%s:-default} or ${%s:?message}", ref, name, name, name)
		}
		if !slices.Contains(vars, name) {
			vars = append(vars, name)
		}
		val, _ := lookup(name)
		switch {
		case val != "":
			b.WriteString(val)
		case op == ":-":
			b.WriteString(arg)
		case op == ":?":
			if arg == "" {
				return "", vars, fmt.Errorf("environment variable %s is required but not set", name)
			}
			return "", vars, fmt.Errorf("environment variable %s is required but not set: %s", name, arg)
		}
	}
	return b.String(), vars, nil
}

// isEnvName: ^[A-Za-z_][A-Za-z0-9_]*$.
func isEnvName(s string) bool {
	return validName(s,
		func(c byte) bool { return isLetter(c) || c == '_' },
		func(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' })
}
