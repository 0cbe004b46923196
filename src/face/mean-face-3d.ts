/**
 * A 3D mean face for 30 of the 68 landmarks, made for this project (not taken from any face
 * model or head-pose repository). Licence: ours, MIT like the rest of the project. (The 68-point
 * mean face that many head-pose repositories ship comes from OpenFace, whose licence forbids
 * commercial use: it is deliberately not used.)
 *
 * Frame (millimetres, right-handed): x to the image's right when the face is frontal (the
 * subject's left), y down (as image rows), z away from the camera (into the head); the nose
 * tip is the origin of z, every other point is behind it (z > 0). x = 0 is the symmetry plane,
 * y = 0 the line of the outer eye corners.
 *
 * x, y: measured by us. The 68-point scheme marks its own points (its "inner eye corner" lies
 * ~4 mm outside the anatomical endocanthion, its inner brow ends ~9 mm further out, its mouth
 * lower than Farkas' canons), so the frontal layout is the mean of face-api's tiny landmark
 * network's points (src/models/face-api/landmark68-tiny.ts) on the 329 faces of the embedded
 * sample (data/lfw-sample), each face scaled to unit outer-eye-corner distance and centred on
 * their midpoint, then made symmetric (mean of each point and its mirror) and scaled to an
 * outer-eye-corner distance ex-ex = 90 mm (L. G. Farkas, "Anthropometry of the Head and Face",
 * 2nd ed., 1994: 91 men, 88 women, North American whites, as quoted by L. G. Farkas et al.,
 * J. Craniofac. Surg. 16(4), 2005). test/face-sample.test.ts re-measures this layout.
 * A consequence: pitch 0 is the sample's mean head pitch (pitch is only meaningful relative to
 * a dataset, as ../shared/GENERATOR.md warns), and the layout carries the sample's mean face.
 * (A layout from anthropometric distances alone, en-en 32, ch-ch 52, sn-sto 22 mm..., fitted the
 * network's points with twice the error: mean reprojection 1.57 px against 0.73 px at 64 px.)
 *
 * z (depth behind the nose tip): estimated by us from published profile norms:
 *   - nasal tip protrusion sn-prn ~19-20 mm (Farkas): subnasale z = 19, nostrils z = 22;
 *   - nasofacial angle ~36 deg (Powell & Humphreys, "Proportions of the Aesthetic Face", 1984)
 *     over a nasal dorsum of ~45 mm: 45 sin 36 = 26 mm, so the nasion (27) z = 26, and the
 *     dorsum points 28, 29 on the straight line from it to the tip;
 *   - Ricketts' E-line (nose tip to chin): upper lip ~4 mm, lower lip ~2 mm behind it; with the
 *     soft-tissue chin ~32 mm behind the tip: ls z = 17, li z = 21, menton (8) z = 38;
 *   - eyes: the corneal apex lies ~16 mm in front of the lateral orbital rim (Hertel
 *     exophthalmometry norms); inner eye corner ~10 mm behind the nasion's surface (z = 36),
 *     outer corner ~10 mm behind the inner one (z = 46);
 *   - brows on the supraorbital ridge: inner ends near the glabella (z = 22), peaks z = 32,
 *     outer ends above the lateral orbital rim (z = 50);
 *   - mouth corners ~18 mm back along the dental arch from the upper lip (z = 35);
 *   - jaw contour (0/16, 4/12, 6/10): silhouette points, not anatomical ones (they slide over
 *     the cheek as the head turns); z = 85, 62, 45 are rough estimates of where the frontal
 *     silhouette lies. The least certain numbers here: POSE_POINTS (pose.ts) leaves them out.
 * An error of k% in the depths scales the sines of yaw and pitch by about k%; the model is
 * consistent with itself, which is what the pose tests check.
 */

/** [landmark index, x, y, z] in mm. */
export const MEAN_FACE_3D: readonly (readonly [number, number, number, number])[] = [
  // jaw contour (silhouette)
  [0, -77, 1, 85],
  [16, 77, 1, 85],
  [4, -62, 75, 62],
  [12, 62, 75, 62],
  [6, -39, 98, 45],
  [10, 39, 98, 45],
  [8, 0, 112, 38], // menton / gnathion
  // brows: outer, peak, inner
  [17, -60, -17, 50],
  [26, 60, -17, 50],
  [19, -39, -24, 32],
  [24, 39, -24, 32],
  [21, -20, -21, 22],
  [22, 20, -21, 22],
  // nose
  [27, 0, 3, 26], // nasion (top of the bridge)
  [28, 0, 18, 17], // the dorsum, straight from the nasion to the tip: 1/3 and 2/3 down
  [29, 0, 31, 9],
  [30, 0, 41, 0], // pronasale (tip)
  [31, -13, 48, 22], // nostrils
  [35, 13, 48, 22],
  [33, 0, 51, 19], // subnasale
  // eyes: outer (ex) and inner (en) corners
  [36, -45, 0, 46],
  [45, 45, 0, 46],
  [39, -20, 1, 36],
  [42, 20, 1, 36],
  // mouth
  [48, -26, 73, 35], // cheilion
  [54, 26, 73, 35],
  [51, 0, 66, 17], // labrale superius
  [57, 0, 85, 21], // labrale inferius
  [62, 0, 71, 20], // stomion (inner lip, top)
  [66, 0, 76, 20], // stomion (inner lip, bottom)
] as const;
