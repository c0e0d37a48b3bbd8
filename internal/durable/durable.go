// Package durable replaces a file so that a crash leaves either the old contents or the new ones, both whole:
// the new bytes go to a sibling file, which is synced, renamed over the old one, and the directory synced, so that
// the rename itself survives a power loss.
package durable

import (
	"fmt"
	"os"
	"path/filepath"
)

// Replace writes data to path through path + ".tmp": write, fsync, rename, fsync of the directory. fault, if not
// nil, is asked before the "write" and the "sync" (a simulator's full or failing disk): an error it returns is
// that step's outcome, and the step does not happen. On any failure path keeps its old contents, the sibling is
// removed, and the error names the step and wraps the system's.
func Replace(path string, data []byte, fault func(op string) error) error {
	tmp := path + ".tmp"
	err := write(tmp, data, fault)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = SyncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

func write(path string, data []byte, fault func(op string) error) error {
	ask := func(op string) error {
		if fault == nil {
			return nil
		}
		return fault(op)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err = ask("write"); err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		if err = ask("sync"); err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SyncDir makes the creation, removal or rename of an entry of dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
