package mempool

// ages links the pool's transactions in the order they were admitted (Add, Readmit), oldest first, so that
// expiry looks at the oldest ones only: admission times never go backwards along it while the clock does not.
type ages struct {
	oldest, newest *poolTx
}

// push appends pt, just admitted, as the newest.
func (a *ages) push(pt *poolTx) {
	pt.older, pt.newer = a.newest, nil
	if a.newest != nil {
		a.newest.newer = pt
	} else {
		a.oldest = pt
	}
	a.newest = pt
}

// unlink takes pt out, in one step.
func (a *ages) unlink(pt *poolTx) {
	if pt.older != nil {
		pt.older.newer = pt.newer
	} else if a.oldest == pt {
		a.oldest = pt.newer
	}
	if pt.newer != nil {
		pt.newer.older = pt.older
	} else if a.newest == pt {
		a.newest = pt.older
	}
	pt.older, pt.newer = nil, nil
}
