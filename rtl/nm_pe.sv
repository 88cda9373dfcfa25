// nm_pe: one N:M sparse processing element (output stationary).
//
// Each valid cycle ("step") it takes one compressed weight group -- N int8
// values and their N indices, packed exactly as accel/bitlayout.py documents
// (value j at bits [j*DATA_W +: DATA_W], index j at bits [j*IDX_W +: IDX_W]) --
// and the M activations of that group. Multiplier j takes activation idx[j]
// (sparse mode) or activation j (dense mode: N weights x the first N
// activations, indices ignored). The N products are added to a DATA_W x DATA_W
// -> ACC_W two's-complement accumulator that wraps around.
//
// in_first restarts the sum, in_last finishes it: during the cycle after a last
// step, done is high and acc holds the finished sum (the next tile's first step
// may arrive in that same cycle; acc is overwritten only at its end).
module nm_pe #(
    parameter int N      = 2,
    parameter int M      = 4,
    parameter int DATA_W = 8,
    parameter int ACC_W  = 32,
    parameter int IDX_W  = $clog2(M)
) (
    input  logic                clk,
    input  logic                rst,
    input  logic                in_valid,
    input  logic                in_first,
    input  logic                in_last,
    input  logic                in_dense,
    input  logic [N*DATA_W-1:0] in_w,
    input  logic [ N*IDX_W-1:0] in_idx,
    input  logic [M*DATA_W-1:0] in_a,
    output logic                done,
    output logic [   ACC_W-1:0] acc
);
  initial begin
    if (M < 2 || M > 16 || (M & (M - 1)) != 0)
      $fatal(1, "nm_pe: M must be a power of two in [2, 16], not %0d", M);
    if (N < 1 || N >= M) $fatal(1, "nm_pe: N must be in [1, M), not N=%0d M=%0d", N, M);
    if (IDX_W != $clog2(M)) $fatal(1, "nm_pe: IDX_W must be clog2(M)=%0d, not %0d", $clog2(M), IDX_W);
    if (ACC_W <= 2 * DATA_W) $fatal(1, "nm_pe: ACC_W (%0d) must exceed 2*DATA_W", ACC_W);
  end

  // The N selected activations, packed like in_w.
  logic [N*DATA_W-1:0] a_sel;

  for (genvar j = 0; j < N; j++) begin : g_mux
    localparam int JI = j;
    localparam logic [IDX_W-1:0] DENSE_SEL = JI[IDX_W-1:0];
`ifdef BROKEN_SWAP_IDX
    // Deliberate bug for the testbench self-check: multiplier j reads index N-1-j.
    localparam int FIELD = N - 1 - j;
`else
    localparam int FIELD = j;
`endif
    logic [IDX_W-1:0] sel;
    assign sel = in_dense ? DENSE_SEL : in_idx[FIELD*IDX_W+:IDX_W];
    assign a_sel[j*DATA_W+:DATA_W] = in_a[sel*DATA_W+:DATA_W];
  end

  // Sum of the N products; operands are sign-extended to ACC_W before the
  // multiply, so every product and the sum are exact modulo 2**ACC_W.
  logic signed [ACC_W-1:0] step_sum;
  always @* begin
    step_sum = '0;
    for (int k = 0; k < N; k++)
      step_sum = step_sum + $signed(in_w[k*DATA_W+:DATA_W]) * $signed(a_sel[k*DATA_W+:DATA_W]);
  end

  always @(posedge clk) begin
    if (in_valid) acc <= (in_first ? '0 : acc) + step_sum;
  end

  always @(posedge clk) begin
    if (rst) done <= 1'b0;
    else done <= in_valid && in_last;
  end
endmodule
