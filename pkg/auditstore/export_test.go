package auditstore

// SetReadBudget shrinks the read budget of filtered queries, so tests reach it
// with a few records.
func SetReadBudget(s *Store, pages, pageSize int) { s.maxPages, s.pageSize = pages, pageSize }
