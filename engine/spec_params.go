package engine

// One parameter spec per object kind, transcribed from the Enswitch pages in
// shared/seeds and their sibling functions. Defaults are the documented
// ones; rules the pages leave open are marked INFERRED.

func str(name, def string, check func(string) error) Param {
	if check == nil {
		check = checkText
	}
	return Param{Name: name, Type: String, Default: def, Check: check}
}

func integer(name, def string, min, max float64) Param {
	return Param{Name: name, Type: Integer, Default: def, Min: min, Max: max, MinSet: true, MaxSet: true}
}

// id is an Integer reference: 0 and up, or -1 where allowNegOne.
func id(name string, allowNegOne bool) Param {
	min := 0.0
	if allowNegOne {
		min = -1
	}
	return Param{Name: name, Type: Integer, Default: "0", Min: min, MinSet: true}
}

func flag(name, def string) Param {
	return Param{Name: name, Type: Integer, Default: def, Enum: []string{"0", "1"}}
}

func enum(name string, typ Type, def string, values ...string) Param {
	return Param{Name: name, Type: typ, Default: def, Enum: values}
}

func required(p Param) Param { p.Required = true; return p }

// ownerManaged marks a parameter the object's owner may change (see
// Param.OwnerManaged).
func ownerManaged(p Param) Param { p.OwnerManaged = true; return p }

func requiredIf(p Param, doc string, cond func(Values) bool) Param {
	p.RequiredIf, p.RequiredDoc = cond, doc
	return p
}

func typeIn(types ...string) func(Values) bool {
	return func(v Values) bool { return contains(types, v["type"]) }
}

// validationParam is the "validate then return" switch every create and
// update takes.
var validationParam = Param{Name: "validation", Type: Integer, Default: "0", Enum: []string{"0", "1"}, NotStored: true, OwnerManaged: true}
