package models

// The PostgreSQL advisory locks Carrel takes, one id each. They are named
// here, together, so that two jobs never share an id by accident and a
// new one can see which are taken. (SQLite needs none: it has a single
// writer, and Carrel runs one instance on it.)
//
// A session lock (pg_advisory_lock) belongs to the connection that took
// it, so it is taken and released on one connection held for the whole
// run, and released with a context that cannot be cancelled: that
// connection goes back to the pool, and a lock left on it stays held
// until the connection closes. A lock that is tried rather than waited
// for (pg_try_advisory_lock) is taken with such a context too: cancelled
// while its answer is read, the lock would be granted with no one to
// release it. A transaction lock (pg_advisory_xact_lock) ends with its
// transaction.
//
// Where a statement took its lock with the id written into its text, it
// still does (fmt.Sprintf): a statement without parameters is sent in one
// simple-protocol round trip, without a prepared statement per connection.
const (
	// lockMigrate makes processes migrating the same database at once take
	// turns (session lock, waited for; see Migrate).
	lockMigrate = 727472
	// lockAudit serialises appends to the audit chain, so it never forks
	// (transaction lock; see AppendAudit).
	lockAudit = 727473
	// lockSeed keeps two demo seeds from both finding nothing and
	// colliding on the unique keys (transaction lock; see SeedDemo).
	lockSeed = 727474
	// lockPurge lets one instance purge at a time; the others return
	// ErrPurgeBusy (session lock, tried; see Purge).
	lockPurge = 727475
	// LockImport (exported for models/ilsimport) makes ILS imports take
	// turns: a full snapshot imported
	// alongside an older one could delete what the newer one wrote
	// (session lock, tried; see the import).
	LockImport = 727476
	// lockArrivals serialises batches of new arrivals (transaction lock).
	lockArrivals = 727477
)
