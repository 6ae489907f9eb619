// Package match owns logmeter's grok patterns: the built-in library, user
// definitions and their expansion into Go regular expressions. It compiles
// those expressions and matches log lines against them.
package match
