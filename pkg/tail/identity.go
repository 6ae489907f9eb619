package tail

import (
	"errors"
	"hash/fnv"
	"io"
	"os"
	"syscall"
)

// fileKey names a file independently of its path: device and inode.
type fileKey struct{ dev, ino uint64 }

func keyOf(fi os.FileInfo) fileKey {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileKey{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return fileKey{}
}

// fpMax bytes from the start of a file tell files apart that reuse an inode
// (busy nodes recycle inodes within seconds) and find a copytruncate copy.
const fpMax = 1024

// fingerprint is a hash of a file's first n bytes; n grows with the file
// up to fpMax.
type fingerprint struct {
	n    int
	hash uint64
}

// readFingerprint hashes the first min(size, fpMax) bytes of f.
func readFingerprint(f *os.File, size int64, buf []byte) (fingerprint, error) {
	n := int(min(size, fpMax))
	if n == 0 {
		return fingerprint{}, nil
	}
	k, err := f.ReadAt(buf[:n], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fingerprint{}, err
	}
	h := fnv.New64a()
	h.Write(buf[:k])
	return fingerprint{n: k, hash: h.Sum64()}, nil
}

// matches reports whether f still starts with the bytes fp was taken from.
func (fp fingerprint) matches(f *os.File, size int64, buf []byte) (bool, error) {
	if fp.n == 0 {
		return true, nil
	}
	if size < int64(fp.n) {
		return false, nil
	}
	k, err := f.ReadAt(buf[:fp.n], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	if k < fp.n {
		return false, nil
	}
	h := fnv.New64a()
	h.Write(buf[:k])
	return h.Sum64() == fp.hash, nil
}
