package views

// The components' Go code (*_templ.go) is generated and committed; `go
// generate ./views` (or make generate) rebuilds it with the templ pinned
// in go.mod's tool directive, without a version line that would change
// every file on each templ upgrade.
//go:generate go tool templ generate -include-version=false
