// nm_delay: a DEPTH-stage register pipeline (DEPTH = 0 is a wire).
// Used for the operand skew at the array edges, the one-register hops between
// neighbouring PEs and the output drain; every stage is cleared by rst so no
// valid bit of an aborted tile survives a reset.
module nm_delay #(
    parameter int W     = 1,
    parameter int DEPTH = 1
) (
    input  logic         clk,
    input  logic         rst,
    input  logic [W-1:0] d,
    output logic [W-1:0] q
);
  generate
    if (DEPTH == 0) begin : g_wire
      assign q = d;
      // clk and rst are unused in a zero-depth pipeline
      logic unused_ok;
      assign unused_ok = clk ^ rst;
    end else begin : g_regs
      logic [W-1:0] stage[DEPTH];
      always @(posedge clk) begin
        if (rst) stage[0] <= '0;
        else stage[0] <= d;
      end
      for (genvar s = 1; s < DEPTH; s++) begin : g_stage
        always @(posedge clk) begin
`ifdef BROKEN_RESET_FIRST_STAGE
          // Deliberate bug for the testbench self-check: only stage 0 clears on rst.
          stage[s] <= stage[s-1];
`else
          if (rst) stage[s] <= '0;
          else stage[s] <= stage[s-1];
`endif
        end
      end
      assign q = stage[DEPTH-1];
    end
  endgenerate
endmodule
