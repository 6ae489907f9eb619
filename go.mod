module github.com/logmeter/logmeter

go 1.26.8

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/prometheus/common v0.73.1 // indirect
	github.com/vjeantet/grok v1.0.1 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
