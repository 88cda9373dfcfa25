nm_delay.sv
nm_pe.sv
nm_pe_array.sv
