// Package tail finds, follows and decodes log files, turning the bytes of each
// file into logline.Line values across rotation and truncation.
// Its decoders read plain text, CRI and docker json-file lines, joining partial
// lines and cutting lines longer than a configured limit.
package tail
