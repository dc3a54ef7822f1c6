package postconf

// Delete removes a parameter, as if the file had never set it: a program
// that reads its own parameters from the same file takes them out before
// Build, which refuses names it does not know.
func (f *File) Delete(name string) {
	if _, ok := f.params[name]; !ok {
		return
	}
	delete(f.params, name)
	for i, n := range f.order {
		if n == name {
			f.order = append(f.order[:i:i], f.order[i+1:]...)
			break
		}
	}
}
