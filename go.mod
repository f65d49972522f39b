module github.com/sipswitch/sipswitch

go 1.26.8

require (
	github.com/pmezard/go-difflib v1.0.0 // indirect
	gopkg.in/ini.v1 v1.67.3 // indirect
)
