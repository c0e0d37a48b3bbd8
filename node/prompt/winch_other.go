//go:build !unix

package prompt

// watchWinch: without SIGWINCH the size is read only before each line and each write.
func watchWinch(func()) (stop func()) { return func() {} }
