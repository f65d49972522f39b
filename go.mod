module github.com/sipswitch/sipswitch

go 1.26.8
